from __future__ import annotations

import orjson
from typer.testing import CliRunner

from dlrhub.commands import nxcloud
from dlrhub.dialects.nxcloud import signing

BODY = '{"id":10001,"name":"牛小信"}'
VECTOR_ARGS = ["-k", "fme2na3kdi3ki", "--action", "send", "--biz-type", "1", "--ts", "1655710885431"]


def test_sign_prints_the_published_vector():
    result = CliRunner().invoke(nxcloud.app, ["sign", *VECTOR_ARGS, "-s", "abciiiko2k3", "--body", BODY])
    assert result.exit_code == 0, result.output
    headers = orjson.loads(result.stdout)
    assert headers["sign"] == "7750759da06333f20d0640be09355e34"
    assert list(headers) == ["accessKey", "ts", "bizType", "action", "sign"]


def test_sign_reads_stdin_and_prompts_for_the_secret_on_stderr():
    runner = CliRunner()
    result = runner.invoke(
        nxcloud.app, ["sign", *VECTOR_ARGS, "--algorithm", "sha256", "-b", BODY], input="abciiiko2k3\n"
    )
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout)["sign"] == (
        "d04863619d46121592cdb312ec0a91c148a1f5daea64930ad0e1fb31a04dc808"
    )
    piped = runner.invoke(nxcloud.app, ["sign", "-k", "AK", "-s", "S", "--ts", "5"], input=BODY)
    assert orjson.loads(piped.stdout)["sign"] == signing.sign("AK", "mt", "9", "5", BODY.encode(), "S")


def test_sign_as_curl_arguments():
    result = CliRunner().invoke(
        nxcloud.app, ["sign", "-k", "AK", "-s", "S", "--ts", "5", "-b", "{}", "-o", "curl"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "-H 'accessKey: AK' -H 'ts: 5' -H 'bizType: 9' -H 'action: mt' -H 'sign: "
    )


def test_unknown_algorithm_is_a_usage_error():
    result = CliRunner().invoke(
        nxcloud.app, ["sign", "-k", "AK", "-s", "S", "-b", "{}", "--algorithm", "sha1"]
    )
    assert result.exit_code == 2

"""`dlrhub nxcloud`: tools for NXCloud-dialect customers (sign a request)."""

from __future__ import annotations

import enum
import shlex
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer

from dlrhub.dialects.nxcloud import signing

app = typer.Typer(rich_markup_mode="markdown", help="Tools for the NXCloud dialect.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Tools for NXCloud-dialect customers."""


class Output(enum.StrEnum):
    """How `sign` prints the headers."""

    #: A JSON object of header names to values.
    JSON = "json"
    #: `-H 'name: value'` arguments to paste into curl.
    CURL = "curl"


@app.command()
def sign(
    access_key: Annotated[str, typer.Option("--access-key", "-k", help="The account's NXCloud accessKey.")],
    access_secret: Annotated[
        str | None,
        typer.Option(
            "--access-secret", "-s", help="The account's access secret. Default: prompted for, hidden."
        ),
    ] = None,
    secret_file: Annotated[
        Path | None, typer.Option("--secret-file", help="Read the access secret from this file (one line).")
    ] = None,
    body: Annotated[
        str | None, typer.Option("--body", "-b", help="The exact JSON body to send. Default: read stdin.")
    ] = None,
    body_file: Annotated[
        Path | None, typer.Option("--body-file", "-f", help="Read the exact body from this file instead.")
    ] = None,
    action: Annotated[str, typer.Option(help="mt, initJourneyToken or checkJourneyToken.")] = "mt",
    biz_type: Annotated[str, typer.Option("--biz-type", help="NXCloud bizType (9 is Zalo).")] = "9",
    ts: Annotated[int | None, typer.Option(help="Timestamp in ms. Default: now.")] = None,
    algorithm: Annotated[str, typer.Option(help="md5 (default) or sha256.")] = "md5",
    output: Annotated[Output, typer.Option("--output", "-o", help="json or curl.")] = Output.JSON,
) -> None:
    """Print the signing headers (accessKey, ts, bizType, action, sign) for one request body.

    The body is signed byte for byte: send exactly the bytes you signed. The timestamp is valid for 60 s.
    When the body comes from stdin, give the secret with --access-secret or --secret-file.
    """
    if secret_file is not None:
        access_secret = secret_file.read_text(encoding="utf-8").strip()
    if access_secret is None:
        access_secret = str(typer.prompt("Access secret", hide_input=True, err=True))
    if body is not None and body_file is not None:
        raise typer.BadParameter("give --body or --body-file, not both")
    if body is not None:
        raw = body.encode()
    elif body_file is not None:
        raw = body_file.read_bytes()
    else:
        raw = sys.stdin.buffer.read()
    try:
        headers = signing.sign_headers(
            access_key, access_secret, raw, action=action, biz_type=biz_type, ts_ms=ts, algorithm=algorithm
        )
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--algorithm") from err
    if output is Output.CURL:
        typer.echo(" ".join(f"-H {shlex.quote(f'{k}: {v}')}" for k, v in headers.items()))
    else:
        typer.echo(orjson.dumps(headers).decode())

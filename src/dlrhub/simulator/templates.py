"""The Zalo simulator's template API: `GET /template/all` and `GET /template/info/v2`, per OA (its `templates`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from dlrhub.dialects.zalo import codes
from dlrhub.dialects.zalo import templates as zalo_templates
from dlrhub.simulator import config as simulator_config
from dlrhub.simulator import http
from dlrhub.simulator import oauth as simulator_oauth

#: Zalo's answer to a template id the OA does not have (-109 template id invalid).
ERROR_UNKNOWN_TEMPLATE = -109
#: Zalo's answer to a malformed offset, limit or status (-132 parameter invalid).
ERROR_BAD_PARAMETER = -132


class TemplateDesk:
    """The two template endpoints, answering for the OA whose access token the request carries."""

    def __init__(self, config: simulator_config.SimulatorConfig, tokens: simulator_oauth.TokenDesk) -> None:
        self.config = config
        self.tokens = tokens

    async def list_all(self, request: Request) -> Response:
        """A page of the OA's templates, optionally of one status (1 enabled, 2 pending, 3 rejected, 4 disabled)."""
        oa = await self.tokens.oa_for_token(request.headers.get("access_token", ""))
        if oa is None:
            return http.error(codes.ERROR_TOKEN_INVALID)
        query = request.query_params
        offset, limit, status = query.get("offset", "0"), query.get("limit", "100"), query.get("status")
        if not (offset.isdigit() and limit.isdigit() and 0 < int(limit) <= zalo_templates.PAGE_LIMIT):
            return http.error(ERROR_BAD_PARAMETER)
        if status is not None and status not in zalo_templates.STATUS_FILTER:
            return http.error(ERROR_BAD_PARAMETER)
        wanted = [
            t for t in oa.templates if status is None or t.status == zalo_templates.STATUS_FILTER[status]
        ]
        page = wanted[int(offset) : int(offset) + int(limit)]
        data = [
            {
                "templateId": int(t.template_id) if t.template_id.isdigit() else t.template_id,
                "templateName": t.name,
                "createdTime": 1_700_000_000_000,
                "status": t.status,
                "templateQuality": t.info.get("templateQuality", "UNDEFINED"),
            }
            for t in page
        ]
        return http.json_response(
            {"error": 0, "message": "Success", "data": data, "metadata": {"total": len(wanted)}}
        )

    async def info(self, request: Request) -> Response:
        """One template's detail, or -109 when the OA has no such template."""
        oa = await self.tokens.oa_for_token(request.headers.get("access_token", ""))
        if oa is None:
            return http.error(codes.ERROR_TOKEN_INVALID)
        template_id = request.query_params.get("template_id", "")
        if template_id in self.config.template_errors:
            return http.error(self.config.template_errors[template_id])
        found = next((t for t in oa.templates if t.template_id == template_id), None)
        if found is None:
            return http.error(ERROR_UNKNOWN_TEMPLATE)
        return http.json_response(
            {"error": 0, "message": "Success", "data": zalo_templates.detail_json(found)}
        )

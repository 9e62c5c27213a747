"""Webhook intake: signed upstream pushes land in the same inbox as pulled records."""

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.api import error
from core.jsonlimits import JSONLimitError, loads_limited

from . import selectors
from .client import SIGNATURE_HEADER, signature_ok
from .models import Connector, InboundMessage
from .services import inbox_receive


def _result(message: InboundMessage, code: int) -> Response:
    return Response(
        {
            "id": message.pk,
            "external_id": message.external_id,
            "version": message.version,
            "state": message.state,
            "correlation_id": str(message.correlation_id),
        },
        status=code,
    )


class InboundWebhook(APIView):
    """POST /api/v1/inbound/<connector>/<stream>/ with an HMAC-SHA256 signature of the raw body.

    The signature is the authentication (no session, so no CSRF); an Idempotency-Key header (or
    the record's own id) makes a retry return the first result, and a reused key with another
    payload a 409 that changes nothing."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Upstream systems are anonymous callers: their own scope, not the anonymous user's rate.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "webhook"

    @extend_schema(
        operation_id="inbound_webhook",
        auth=[],
        parameters=[
            OpenApiParameter("connector", str, OpenApiParameter.PATH),
            OpenApiParameter("stream", str, OpenApiParameter.PATH),
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="sha256=<hex HMAC-SHA256 of the raw body with the connector's secret>",
            ),
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER),
        ],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={
            200: OpenApiTypes.OBJECT,
            202: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            401: OpenApiTypes.OBJECT,
            409: OpenApiTypes.OBJECT,
        },
        summary="Push one upstream record (signed)",
    )
    def post(self, request, connector: str, stream: str):
        target = selectors.connectors_by_name().filter(name=connector).first()
        if target is None or stream not in target.streams:
            return error("Unknown connector or stream.", code="not_found", status_code=404)
        body = request.body
        if not signature_ok(
            target.credentials_ref, body, request.headers.get(SIGNATURE_HEADER, "")
        ):
            return error("Missing or bad signature.", code="bad_signature", status_code=401)
        if target.kind == Connector.Kind.EDI:
            # an EDI connector's streams hold what o2c made of interchanges (orders mapped from
            # an 850, advices from an 820, refused files): only o2c writes them. Said after the
            # signature, so a caller without the secret learns nothing of the connector
            return error(
                f"A trading partner sends interchanges to /api/v1/edi/<partner>/, not to "
                f"{connector}'s streams.",
                code="not_found",
                status_code=404,
            )
        if not target.enabled:
            return error(f"{target.name} is paused; retry later.", code="paused", status_code=503)
        try:  # limited: a body nested thousands deep would make the parser recurse to a 500
            record = loads_limited(body)
        except JSONLimitError as exc:
            return error(exc.message, code=exc.code, field="body")
        except ValueError:
            return error("Body is not valid JSON.", code="malformed_json")
        if not isinstance(record, dict):
            return error("Body must be one JSON object.", code="invalid", field="body")
        # A bad record (400) or a reused key with another payload (409) is raised and answered
        # by core.api.exception_handler.
        message, stored = inbox_receive(
            connector=target,
            stream=stream,
            record=record,
            key=request.headers.get("Idempotency-Key"),
        )
        return _result(message, status.HTTP_202_ACCEPTED if stored else status.HTTP_200_OK)


class EdiInterchangeUpload(APIView):
    """POST /api/v1/edi/<partner>/: one X12 interchange as the raw body, signed with the
    partner's secret (``X-O2C-Signature: sha256=<hex HMAC-SHA256 of the body>``). The same
    intake as the partner's drop folder: 202 with what each set became, 200 for an interchange
    already received (nothing changes), 400 naming the position for a file that cannot be read
    (kept as a dead letter), 401 for a bad signature."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "webhook"

    @extend_schema(
        operation_id="edi_interchange_upload",
        auth=[],
        parameters=[
            OpenApiParameter("partner", str, OpenApiParameter.PATH),
            OpenApiParameter(
                SIGNATURE_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="sha256=<hex HMAC-SHA256 of the raw body with the partner's secret>",
            ),
        ],
        request={"application/edi-x12": OpenApiTypes.STR},
        responses={
            200: OpenApiTypes.OBJECT,
            202: OpenApiTypes.OBJECT,
            400: OpenApiTypes.OBJECT,
            401: OpenApiTypes.OBJECT,
            404: OpenApiTypes.OBJECT,
            413: OpenApiTypes.OBJECT,
        },
        summary="Send one X12 interchange (signed)",
    )
    def post(self, request, partner: str):
        from .edi.models import TradingPartner
        from .edi.services import edi_receive
        from .edi.transport import MAX_BYTES

        target = TradingPartner.objects.select_related("connector").filter(name=partner).first()
        if target is None:
            return error("Unknown trading partner.", code="not_found", status_code=404)
        length = request.META.get("CONTENT_LENGTH", "")
        if length.isdigit() and int(length) > MAX_BYTES:
            return error(f"More than {MAX_BYTES} bytes.", code="too_large", status_code=413)
        try:
            body = request.body
        except RequestDataTooBig:
            # Django keeps bodies it buffers to 2.5 MB; an interchange may be 20 MB, read here
            # from the stream (its length checked above and again below)
            body = request._request.read(MAX_BYTES + 1)
        if not signature_ok(
            target.credentials_ref, body, request.headers.get(SIGNATURE_HEADER, "")
        ):
            return error("Missing or bad signature.", code="bad_signature", status_code=401)
        if len(body) > MAX_BYTES:
            return error(f"More than {MAX_BYTES} bytes.", code="too_large", status_code=413)
        received = edi_receive(raw=body, via="http", partner=target)
        if received.error:
            return error(received.error, code="refused", field="body")
        row = received.interchange
        return Response(
            {
                "interchange": row.control_number,
                "id": row.pk,
                "state": row.state,
                "repeat": not received.created,
                "sets": [
                    {"code": o.code, "control": o.control, "state": o.state, "became": o.became}
                    for o in received.outcomes
                ],
            },
            status=status.HTTP_202_ACCEPTED if received.created else status.HTTP_200_OK,
        )

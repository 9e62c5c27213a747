"""Webhook intake: signed upstream pushes land in the same inbox as pulled records."""

import hashlib
import hmac
import json
import os

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.api import error

from .mappers import MAPPERS, MappingError
from .models import Connector, InboundMessage, InboundState
from .services.inbox import inbox_store, payload_hash

SIGNATURE_HEADER = "X-O2C-Signature"


def _secret(connector: Connector) -> bytes | None:
    value = os.environ.get(connector.credentials_ref) if connector.credentials_ref else None
    return value.encode() if value else None


def _signature_ok(connector: Connector, body: bytes, header: str) -> bool:
    secret = _secret(connector)
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


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
        target = Connector.objects.filter(name=connector).first()
        if target is None or stream not in target.streams:
            return error("Unknown connector or stream.", code="not_found", status_code=404)
        body = request.body
        if not _signature_ok(target, body, request.headers.get(SIGNATURE_HEADER, "")):
            return error("Missing or bad signature.", code="bad_signature", status_code=401)
        if not target.enabled:
            return error(f"{target.name} is paused; retry later.", code="paused", status_code=503)
        try:
            record = json.loads(body)
        except ValueError:
            return error("Body is not valid JSON.", code="malformed_json")
        if not isinstance(record, dict):
            return error("Body must be one JSON object.", code="invalid", field="body")
        key = request.headers.get("Idempotency-Key") or record.get("id")
        if not key:
            return error(
                "Send an Idempotency-Key header or an id in the record.", code="invalid", field="id"
            )
        key = str(key)
        record = record if "id" in record else {**record, "id": key}
        version = record.get("version", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            return error(
                "version: must be a whole number from 1 up.", code="invalid", field="version"
            )
        try:
            MAPPERS[stream](record)
        except MappingError as exc:
            return error(f"Rejected: {exc}", code="invalid", field=str(exc).split(":", 1)[0])
        existing = InboundMessage.objects.filter(
            connector=target, stream=stream, external_id=key, version=version
        ).first()
        if existing is not None:
            if existing.payload_hash != payload_hash(record):
                return error(
                    "This Idempotency-Key was used with a different payload.",
                    code="conflict",
                    status_code=409,
                    id=existing.pk,
                )
            return _result(existing, status.HTTP_200_OK)
        # A concurrent twin of this request is absorbed by the inbox's ON CONFLICT DO NOTHING.
        inbox_store(connector=target, stream=stream, records=[record], key=key)
        message = InboundMessage.objects.get(
            connector=target, stream=stream, external_id=key, version=version
        )
        if message.payload_hash != payload_hash(record):
            return error(
                "This Idempotency-Key was used with a different payload.",
                code="conflict",
                status_code=409,
                id=message.pk,
            )
        if message.state == InboundState.RECEIVED:
            from .tasks import inbox_process_task

            transaction.on_commit(lambda: inbox_process_task.delay(target.pk, stream))
        return _result(message, status.HTTP_202_ACCEPTED)

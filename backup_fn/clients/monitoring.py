"""Monitoring's telemetry ingestion (API 20180401): posting custom metric data points.

PostMetricData lives on `telemetry-ingestion.{region}`, not on the `telemetry.{region}` endpoint
the SDK's MonitoringClient is made for."""

from __future__ import annotations

from typing import Any

from ..deadline import Deadline
from .base import OciClient, Operation, Service
from .signer import Credentials

TELEMETRY_INGESTION = Service("monitoring", "/20180401", "https://telemetry-ingestion.{region}.{secondLevelDomain}", "telemetry-ingestion")
POST_METRIC_DATA = Operation("PostMetricData", "POST", "/metrics")
OPERATIONS: tuple[Operation, ...] = (POST_METRIC_DATA,)


class MonitoringClient:
    def __init__(self, credentials: Credentials, endpoint: str | None) -> None:
        self._oci = OciClient(credentials, TELEMETRY_INGESTION, endpoint)

    def post_metric_data(self, metric_data: list[dict[str, Any]], deadline: Deadline) -> tuple[int, str | None]:
        """How many metric streams OCI refused, and the opc-request-id."""
        reply = self._oci.call(deadline, POST_METRIC_DATA, body={"metricData": metric_data, "batchAtomicity": "NON_ATOMIC"})
        failed = reply.data.get("failedMetricsCount", 0) if isinstance(reply.data, dict) else 0
        return int(failed or 0), reply.request_id

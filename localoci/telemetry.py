"""Monitoring's telemetry ingestion (`/20180401`): PostMetricData, each metricData item checked as
OCI documents it (namespace, name, compartment, 1 to 20 dimensions, datapoints at most 2 hours old
and 10 minutes ahead), 1 to 50 items a batch. Accepted items are recorded, in order."""

from __future__ import annotations

import copy
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .operations import ApiError, Json, Response, Route, route

API = "/20180401"
MAX_METRIC_STREAMS = 50
METRIC_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
METRIC_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,254}")
DIMENSION_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,255}")


@dataclass
class Telemetry:
    """Every metricData item accepted."""

    metrics: list[Json] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def routes(self) -> list[Route]:
        return [route("POST", f"{API}/metrics", "PostMetricData", lambda r, b: Response(200, self.post_metrics(b)))]

    def post_metrics(self, body: Any) -> Json:
        if not isinstance(body, dict) or not isinstance(body.get("metricData"), list):
            raise ApiError(400, "InvalidParameter", "metricData (a list) is required.")
        items = body["metricData"]
        if not 1 <= len(items) <= MAX_METRIC_STREAMS:
            raise ApiError(400, "InvalidParameter", f"metricData must hold 1 to {MAX_METRIC_STREAMS} items.")
        problems = [(index, problem) for index, item in enumerate(items) if (problem := _metric_problem(item))]
        # NON_ATOMIC (the default): the good items are taken and the bad ones answered; ATOMIC: all or nothing.
        if problems and (body.get("batchAtomicity") == "ATOMIC" or len(problems) == len(items)):
            index, problem = problems[0]
            raise ApiError(400, "InvalidParameter", f"metricData[{index}]: {problem}")
        refused = {index for index, _ in problems}
        with self.lock:
            self.metrics.extend(copy.deepcopy(item) for index, item in enumerate(items) if index not in refused)
        failed = [{"metricData": items[index], "message": problem} for index, problem in problems]
        return {"failedMetricsCount": len(failed), "failedMetrics": failed}


def _metric_problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "must be an object"
    namespace, name, compartment = item.get("namespace"), item.get("name"), item.get("compartmentId")
    if not isinstance(namespace, str) or not METRIC_NAMESPACE.fullmatch(namespace) or namespace.lower().startswith(("oci_", "oracle_")):
        return "namespace must be letters, digits and _, starting with a letter, not oci_ or oracle_"
    if not isinstance(name, str) or not METRIC_NAME.fullmatch(name):
        return "name is not a valid metric name"
    if not isinstance(compartment, str) or not compartment.startswith(("ocid1.compartment.", "ocid1.tenancy.")):
        return "compartmentId must be a compartment OCID"
    dimensions = item.get("dimensions")
    if not isinstance(dimensions, dict) or not 1 <= len(dimensions) <= 20:
        return "dimensions must hold 1 to 20 key-value pairs"
    for key, value in dimensions.items():
        if not DIMENSION_KEY.fullmatch(key) or not isinstance(value, str) or not 1 <= len(value) <= 512:
            return f"dimension {key!r} is not a valid key with a 1 to 512 character string value"
    datapoints = item.get("datapoints")
    if not isinstance(datapoints, list) or not datapoints:
        return "datapoints must be a non-empty list"
    now = datetime.now(UTC)
    for point in datapoints:
        if not isinstance(point, dict) or not isinstance(point.get("value"), int | float) or isinstance(point.get("value"), bool):
            return "each datapoint needs a numeric value"
        try:
            when = datetime.fromisoformat(str(point.get("timestamp")).replace("Z", "+00:00"))
        except ValueError:
            return "each datapoint needs an RFC 3339 timestamp"
        if when.tzinfo is None:
            return "timestamps need a time zone"
        age = (now - when).total_seconds()
        if age > 2 * 3600 or age < -600:
            return "timestamps may be at most 2 hours old and 10 minutes ahead"
    return None

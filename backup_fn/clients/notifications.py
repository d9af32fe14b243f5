"""Notifications data plane (API 20181201): publishing a message to a topic."""

from __future__ import annotations

from ..deadline import Deadline
from .base import OciClient, Operation, Service
from .signer import Credentials

NOTIFICATIONS = Service("notification_data_plane", "/20181201", "https://notification.{region}.{secondLevelDomain}", "notification")
PUBLISH_MESSAGE = Operation("PublishMessage", "POST", "/topics/{topicId}/messages")
OPERATIONS: tuple[Operation, ...] = (PUBLISH_MESSAGE,)


class NotificationsClient:
    def __init__(self, credentials: Credentials, endpoint: str | None) -> None:
        self._oci = OciClient(credentials, NOTIFICATIONS, endpoint)

    def publish(self, topic_id: str, title: str, body: str, deadline: Deadline) -> str | None:
        """The opc-request-id of the accepted message."""
        return self._oci.call(deadline, PUBLISH_MESSAGE, path_params={"topicId": topic_id}, body={"title": title, "body": body}).request_id

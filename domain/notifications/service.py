"""What the HTTP layer asks of notifications: template previews, campaigns and the
one-click unsubscribe."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg

from domain.notifications import campaigns
from domain.notifications.campaigns import Audience, Campaign, CampaignContent
from domain.notifications.composer import Composer
from domain.notifications.rendering import Rendered
from foundation.errors import NotFound


class PreviewNotFound(NotFound):
    """No such booking (or it has no flights) to preview a template for."""


class NotificationService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        composer: Composer,
        unsubscribe_secret: bytes,
        wake: Callable[[], None],
    ) -> None:
        self.pool = pool
        self.composer = composer
        self.unsubscribe_secret = unsubscribe_secret
        self.wake = wake

    async def preview(self, template: str, booking_id: uuid.UUID, language: str) -> Rendered:
        rendered = await self.composer.preview(template, booking_id, language)
        if rendered is None:
            raise PreviewNotFound("No booking with flights to preview this template for.")
        return rendered

    async def create_campaign(
        self,
        name: str,
        content: dict[str, CampaignContent],
        audience: Audience,
        created_by: uuid.UUID,
    ) -> Campaign:
        return await campaigns.create_campaign(self.pool, name, content, audience, created_by)

    async def campaign(self, campaign_id: uuid.UUID) -> Campaign:
        return await campaigns.get_campaign(self.pool, campaign_id)

    async def send_test(
        self, campaign_id: uuid.UUID, address: str, language: str, sender: uuid.UUID
    ) -> None:
        await campaigns.send_test(self.pool, campaign_id, address, language, sender)
        self.wake()

    async def send_campaign(self, campaign_id: uuid.UUID) -> Campaign:
        sent = await campaigns.send_campaign(self.pool, campaign_id)
        self.wake()
        return sent

    async def unsubscribe(self, token: str) -> None:
        """Withdraw the marketing consent of the user the signed token names."""
        user_id = campaigns.token_user(self.unsubscribe_secret, token)
        await campaigns.withdraw_consent(self.pool, user_id)

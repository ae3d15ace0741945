"""Application resources for user data: the card vault and file storage."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from domain.cards import CardVault
from server import keys
from server.storage import Storage, open_storage

log = logging.getLogger(__name__)

vault_key: web.AppKey[CardVault] = web.AppKey("card_vault")
storage_key: web.AppKey[Storage] = web.AppKey("storage")


async def user_data_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[keys.settings_key]
    if settings.payment_encryption_key:
        app[vault_key] = CardVault.from_setting(settings.payment_encryption_key)
    else:
        # Development only: a key kept in the same database as the ciphertext protects
        # nothing against someone holding the database. Production sets the variable.
        log.warning("PAYMENT_ENCRYPTION_KEY is not set: using a development key")
        pool = app[keys.pool_key]
        await pool.execute(
            """INSERT INTO app_secrets (name, secret)
               VALUES ('dev_card_key', encode(decode(md5(gen_random_uuid()::text)
                       || md5(gen_random_uuid()::text), 'hex'), 'base64'))
               ON CONFLICT (name) DO NOTHING"""
        )
        key = await pool.fetchval("SELECT secret FROM app_secrets WHERE name = 'dev_card_key'")
        app[vault_key] = CardVault({"dev": base64.b64decode(key)}, "dev")
    async with open_storage(settings) as storage:
        app[storage_key] = storage
        yield

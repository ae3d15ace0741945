"""The account operations behind /auth/v1, as plain async methods over the pool.

Password hashing never holds a database connection: it happens before the
transaction that records its outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import asyncpg

from adapters.mail import MailOutbox
from domain.identity.accounts import recovery, throttle
from domain.identity.accounts.errors import (
    EmailExists,
    InvalidCredentials,
    OtpExpired,
    SamePassword,
    SessionNotFound,
    UserAlreadyExists,
    UserBanned,
    UserNotFound,
)
from domain.identity.accounts.passwords import (
    check_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from domain.identity.accounts.sessions import (
    AuthSession,
    IssuedSession,
    TokenSigner,
    create_session,
    revoke_sessions,
    revoke_user_sessions,
    rotate,
    session_is_live,
)
from domain.identity.accounts.users import (
    AuthUser,
    as_auth_user,
    insert_user,
    merge_metadata,
    normalize_email,
    record_sign_in,
    set_password_hash,
    update_user,
    user_by_email,
    user_by_id,
)

SignOutScope = Literal["global", "local", "others"]


@dataclass(frozen=True, slots=True)
class Accounts:
    pool: asyncpg.Pool
    signer: TokenSigner
    session_lifetime: timedelta
    site_url: str
    outbox: MailOutbox
    limits: throttle.Limits | None = None

    @property
    def _limits(self) -> throttle.Limits:
        # Read at call time, so an operator (or a test) can tune the module's LIMITS.
        return self.limits or throttle.LIMITS

    def session(self, user_row: asyncpg.Record, issued: IssuedSession) -> AuthSession:
        """GoTrue's session for a user and a session just issued to them."""
        user = as_auth_user(user_row, self.signer.audience)
        access_token, expires_at = self.signer.access_token(
            user, issued.session_id, issued.method, issued.authenticated_at,
            issued.tokens_valid_from,
        )  # fmt: skip
        return AuthSession(
            access_token=access_token,
            expires_in=self.signer.lifetime_seconds,
            expires_at=expires_at,
            refresh_token=issued.refresh_token,
            user=user,
        )

    async def sign_up(
        self, email: str, password: str, data: dict[str, Any], ip: str
    ) -> AuthSession:
        """Create a confirmed user and sign them in."""
        email = normalize_email(email)
        check_strength(password)
        await throttle.take(
            self.pool, [(throttle.signup_ip_bucket(ip), self._limits.signup_per_ip)]
        )
        password_hash = await hash_password(password)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await insert_user(conn, email, password_hash, data)
            if row is None:
                raise UserAlreadyExists()
            issued = await create_session(conn, row["id"], "password", self.session_lifetime)
        return self.session(row, issued)

    async def sign_in(self, email: str, password: str, ip: str) -> AuthSession:
        """Password sign-in, throttled per account and per IP."""
        email = email.strip().lower()
        account_bucket = throttle.login_account_bucket(email)
        ip_bucket = throttle.login_ip_bucket(ip)
        await throttle.take(
            self.pool,
            [(account_bucket, self._limits.login_per_account),
             (ip_bucket, self._limits.login_per_ip)],
        )  # fmt: skip
        row = await user_by_email(self.pool, email)
        stored = row["encrypted_password"] if row is not None else None
        if row is None or not await verify_password(stored, password):
            raise InvalidCredentials()
        # Only after the password matched, so guessers learn nothing about bans.
        if row["banned"]:
            raise UserBanned()
        rehashed = (
            await hash_password(password) if needs_rehash(row["encrypted_password"]) else None
        )
        async with self.pool.acquire() as conn, conn.transaction():
            await throttle.forgive(conn, clear=[account_bucket], give_back=[ip_bucket])
            if rehashed is not None:
                await set_password_hash(conn, row["id"], rehashed)
            row = await record_sign_in(conn, row["id"])
            issued = await create_session(conn, row["id"], "password", self.session_lifetime)
        return self.session(row, issued)

    async def refresh(self, refresh_token: str) -> AuthSession:
        """Rotate the refresh token; a reused one revokes its whole session."""
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                rotation = await rotate(conn, refresh_token)
                if rotation.issued is not None:
                    assert rotation.user_id is not None
                    row = await user_by_id(conn, rotation.user_id)
                    if row is None or row["banned"]:
                        raise UserBanned()  # rolls the rotation back
                    return self.session(row, rotation.issued)
            # Outside the transaction: a detected reuse has been committed as a revocation.
            assert rotation.error is not None
            raise rotation.error

    async def _live_user(self, user_id: uuid.UUID, session_id: uuid.UUID | None) -> asyncpg.Record:
        if session_id is not None and not await session_is_live(self.pool, session_id, user_id):
            raise SessionNotFound()
        row = await user_by_id(self.pool, user_id)
        if row is None:
            raise UserNotFound()
        return row

    async def current_user(self, user_id: uuid.UUID, session_id: uuid.UUID | None) -> AuthUser:
        return as_auth_user(await self._live_user(user_id, session_id), self.signer.audience)

    async def update_user(
        self, user_id: uuid.UUID, session_id: uuid.UUID | None, *, email: str | None,
        password: str | None, data: dict[str, Any] | None,
    ) -> AuthUser:  # fmt: skip
        """Change email, password and user_metadata. A new password signs out every
        other session of the user."""
        new_email = normalize_email(email) if email is not None else None
        if password is not None:
            check_strength(password)
        row = await self._live_user(user_id, session_id)
        password_hash = None
        if password is not None:
            if await verify_password(row["encrypted_password"], password):
                raise SamePassword()
            password_hash = await hash_password(password)
        async with self.pool.acquire() as conn, conn.transaction():
            current = await user_by_id(conn, user_id, lock=True)
            if current is None:
                raise UserNotFound()
            metadata = merge_metadata(current["user_metadata"], data) if data is not None else None
            if new_email == current["email"]:
                new_email = None
            try:
                row = await update_user(
                    conn,
                    user_id,
                    email=new_email,
                    password_hash=password_hash,
                    user_metadata=metadata,
                )
            except asyncpg.UniqueViolationError:
                raise EmailExists() from None  # fmt: skip
            if password_hash is not None:
                await revoke_user_sessions(conn, user_id, "password_changed", keep=session_id)
        return as_auth_user(row, self.signer.audience)

    async def sign_out(
        self, user_id: uuid.UUID, session_id: uuid.UUID | None, scope: SignOutScope
    ) -> None:
        if scope == "local":
            if session_id is not None:
                await revoke_sessions(self.pool, [session_id], "logout")
        elif scope == "others":
            await revoke_user_sessions(self.pool, user_id, "logout", keep=session_id)
        else:
            await revoke_user_sessions(self.pool, user_id, "logout")

    async def recover(self, email: str, ip: str, redirect_to: str | None) -> None:
        """Queue a recovery email if the account exists. The caller answers the same
        either way, and the work is the same too, so neither the answer nor its timing
        tells who has an account: the token and email are made for any address, one
        transaction runs the same statements (writing the throttle counter, and for an
        account the token and its email, so committing with one WAL flush either way),
        and the email is sent later by the outbox, never while the request waits."""
        email = normalize_email(email)
        token = recovery.new_token()
        link = recovery.reset_link(self.site_url, token, redirect_to)
        subject, text = recovery.recovery_email(link, token)
        async with self.pool.acquire() as conn, conn.transaction():
            await throttle.take(
                conn, [(throttle.recover_ip_bucket(ip), self._limits.recover_per_ip)]
            )
            recipient = await recovery.issue(conn, email, token)
            queued = await self.outbox.enqueue(conn, recipient, subject, text)
        if queued:
            self.outbox.wake()

    async def verify_recovery(self, token: str, email: str | None) -> AuthSession:
        """Redeem a recovery token for a session, with which the user sets a new password."""
        if email is not None:
            email = normalize_email(email)
        async with self.pool.acquire() as conn, conn.transaction():
            user_id = await recovery.redeem(conn, token, email)
            if user_id is None:
                raise OtpExpired()
            row = await user_by_id(conn, user_id)
            if row is None or row["banned"]:
                raise UserBanned()
            row = await record_sign_in(conn, user_id)
            issued = await create_session(conn, user_id, "recovery", self.session_lifetime)
        return self.session(row, issued)

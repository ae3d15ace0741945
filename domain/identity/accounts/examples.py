# ruff: noqa: E501 (real values: tokens, URLs and barcodes do not wrap)
"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

AUTH_USER: dict[str, Any] = {
    "id": "da7e5673-74b8-45e5-97e3-58125864f87a",
    "aud": "authenticated",
    "role": "authenticated",
    "email": "ada@example.com",
    "email_confirmed_at": "2026-12-02T11:26:34.520186Z",
    "phone": "",
    "confirmed_at": "2026-12-02T11:26:34.520186Z",
    "recovery_sent_at": None,
    "last_sign_in_at": "2026-12-02T11:26:34.520186Z",
    "app_metadata": {"provider": "email", "providers": ["email"]},
    "user_metadata": {"given_name": "Ada"},
    "identities": [
        {
            "identity_id": "da7e5673-74b8-45e5-97e3-58125864f87a",
            "id": "da7e5673-74b8-45e5-97e3-58125864f87a",
            "user_id": "da7e5673-74b8-45e5-97e3-58125864f87a",
            "identity_data": {
                "sub": "da7e5673-74b8-45e5-97e3-58125864f87a",
                "email": "ada@example.com",
                "email_verified": True,
                "phone_verified": False,
            },
            "provider": "email",
            "email": "ada@example.com",
            "last_sign_in_at": "2026-12-02T11:26:34.520186Z",
            "created_at": "2026-12-02T11:26:34.520186Z",
            "updated_at": "2026-12-02T11:26:34.520186Z",
        }
    ],
    "created_at": "2026-12-02T11:26:34.520186Z",
    "updated_at": "2026-12-02T11:26:34.520186Z",
    "is_anonymous": False,
}

AUTH_SESSION: dict[str, Any] = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI1YTFjMGRlNS03ZjNhLTRjNTUtOWQwZS02YTFiMmMzZDRlNWYifQ.Tm90IGEgcmVhbCBzaWduYXR1cmU",
    "token_type": "bearer",
    "expires_in": 3600,
    "expires_at": 1796214394,
    "refresh_token": "HEtjpmAFNgw086jCiwRvfLLEUy9Mxs2kIEORd6Pyo2s",
    "user": AUTH_USER,
}

# ruff: noqa: E501 (real values: tokens, URLs, barcodes and records do not wrap)
"""Examples for the OpenAPI document of this package's models. Responses are real answers
of a server (ids, times and tokens as it gave them) with lists cut to their first item;
requests are the bodies the guide and the other documents send."""

from __future__ import annotations

from typing import Any

from domain.bookings.examples import BOOKING
from domain.examples import AIRPORT

ACTION_REASON: dict[str, Any] = {"reason": "Lost phone"}

AIRPORT_LIST: dict[str, Any] = {
    "airports": [
        AIRPORT,
    ],
    "next_after": None,
}

CAMPAIGN_INPUT: dict[str, Any] = {
    "name": "Winter sun",
    "content": {
        "en": {
            "subject": "Winter sun from $99",
            "html": "<p>Fly south, {{ given_name }}.</p>",
            "text": "Fly south, {{ given_name }}.",
        }
    },
    "audience": {"home_airport": "JFK"},
}

CARD_INPUT: dict[str, Any] = {
    "number": "4242 4242 4242 4242",
    "exp_month": 12,
    "exp_year": 2030,
    "cvc": "123",
    "holder_name": "Ada Lovelace",
}

EMPTY: dict[str, Any] = {}

HEALTH: dict[str, Any] = {"status": "ok"}

HOLD_REQUEST: dict[str, Any] = {"seats": ["12A"]}

PAYMENT_METHOD_LIST: dict[str, Any] = {
    "payment_methods": [
        {
            "id": "42bcd839-6451-4c28-9c78-f958949a1c89",
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2030,
            "created_at": "2026-12-02T11:26:34.691931Z",
        }
    ]
}

PREFERENCES_INPUT: dict[str, Any] = {
    "seat": "window",
    "meal": "vegetarian",
    "language": "en",
    "notification_channels": ["email"],
    "marketing_consent": False,
}

PROFILE_PATCH: dict[str, Any] = {
    "given_name": "Ada",
    "family_name": "Lovelace",
    "phone": "+14155550100",
    "date_of_birth": "1985-12-10",
    "nationality": "GB",
}

QUEUED: dict[str, Any] = {"queued": True}

QUOTE_CONFIRMATION: dict[str, Any] = {"quote_id": "aad09aa0-7315-425f-ae26-268c4692062d"}

READINESS: dict[str, Any] = {
    "status": "ready",
    "checks": {
        "background_tasks": True,
        "database": True,
        "change_listener": True,
        "change_listener_lag": True,
    },
    "details": {
        "change_listener_lag": {"events": 0, "released": 8, "cursor": 8, "progressing": True}
    },
}

RECOVER_BODY: dict[str, Any] = {"email": "ada@example.com"}

ROLE_GRANT: dict[str, Any] = {"roles": ["agent"]}

SIGN_UP_BODY: dict[str, Any] = {
    "email": "ada@example.com",
    "password": "correct horse battery staple",
    "data": {"given_name": "Ada"},
}

TEMPLATE_PREVIEW: dict[str, Any] = {
    "subject": "Your booking YDB4EW is confirmed",
    "text": "Your booking YDB4EW is confirmed\n"
    "\n"
    "Hello Ada Lovelace,\n"
    "\n"
    "Thank you for flying with us. Your booking is confirmed and your e-tickets are "
    "attached.\n"
    "Your trip\n"
    "* Flight SB101 (Skybound Airways, Economy)\n"
    "  Departs: New York (JFK), Thursday, December 3, 2026 3:25\u202fAM (Eastern Standard "
    "Time)\n"
    "  Arrives: Boston (BOS), Thursday, December 3, 2026 4:40\u202fAM (Eastern Standard "
    "Time)  Seat: 12APassengers: Ada Lovelace\n"
    "Total paid: $175.50\n"
    "Attached: your e-ticket receipts and a calendar entry for each flight.\n"
    "Booking reference: YDB4EW\n"
    "Manage your booking: "
    "http://127.0.0.1:8080/bookings/4302ec0b-6427-4894-bb17-86067348f50c\n"
    "--\n"
    "Sky-Bound Journeys. This message was sent about your booking YDB4EW.\n",
    "html": "<!DOCTYPE html>\n"
    '<html lang="en">\n'
    "<head>\n"
    '<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "<title>Your booking YDB4EW is confirmed</title>\n"
    "</head>\n"
    "<body "
    'style="margin:0;padding:0;background:#eef2f7;font-family:Helvetica,Arial,sans-serif;color:#1b2430;">\n'
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
    'style="background:#eef2f7;">\n'
    '<tr><td align="center" style="padding:24px 12px;">\n'
    '<table role="presentation" width="600" cellpadding="0" cellspacing="0" '
    'style="max-width:600px;width:100%;background:#ffffff;border-radius:8px;">\n'
    '<tr><td style="background:#0b3d91;color:#ffffff;padding:20px 28px;border-radius:8px '
    '8px 0 0;font-size:20px;font-weight:bold;">Sky-Bound Journeys</td></tr>\n'
    '<tr><td style="padding:28px;font-size:15px;line-height:1.5;">\n'
    '<h1 style="font-size:20px;margin:0 0 16px 0;">Your booking YDB4EW is confirmed</h1>\n'
    '<p style="margin:0 0 12px 0;">Hello Ada Lovelace,</p>\n'
    '<p style="margin:0 0 12px 0;">Thank you for flying with us. Your booking is '
    "confirmed and your e-tickets are attached.</p>\n"
    '<h2 style="font-size:16px;margin:20px 0 8px 0;">Your trip</h2>\n'
    '<table role="presentation" width="100%" cellpadding="6" cellspacing="0" '
    'style="border:1px solid #e3e8ef;border-radius:6px;margin:0 0 10px '
    '0;font-size:14px;">\n'
    '<tr><td colspan="2" style="background:#f5f7fa;font-weight:bold;">Flight SB101 · '
    "Skybound Airways · Economy</td></tr>\n"
    '<tr><td style="width:30%;color:#5a6472;">Departs</td><td><strong>New York '
    "(JFK)</strong><br>Thursday, December 3, 2026 3:25\u202fAM (Eastern Standard "
    "Time)</td></tr>\n"
    '<tr><td style="color:#5a6472;">Arrives</td><td><strong>Boston '
    "(BOS)</strong><br>Thursday, December 3, 2026 4:40\u202fAM (Eastern Standard "
    "Time)</td></tr>\n"
    '<tr><td style="color:#5a6472;">Seat</td><td>12A</td></tr></table>\n'
    '<p style="margin:8px 0;"><span style="color:#5a6472;">Passengers:</span> Ada '
    "Lovelace</p>\n"
    '<p style="margin:12px 0;">Total paid: <strong>$175.50</strong></p>\n'
    '<p style="margin:12px 0;color:#5a6472;font-size:13px;">Attached: your e-ticket '
    "receipts and a calendar entry for each flight.</p>\n"
    '<p style="margin:16px 0 0 0;color:#5a6472;font-size:13px;">Booking reference: '
    "<strong>YDB4EW</strong></p>\n"
    '<p style="margin:20px 0 0 0;"><a '
    'href="http://127.0.0.1:8080/bookings/4302ec0b-6427-4894-bb17-86067348f50c" '
    'style="background:#0b3d91;color:#ffffff;padding:10px '
    '18px;border-radius:4px;text-decoration:none;display:inline-block;">Manage your '
    "booking</a></p></td></tr>\n"
    '<tr><td style="padding:16px 28px;color:#8a93a0;font-size:12px;border-top:1px solid '
    '#e3e8ef;">Sky-Bound Journeys. This message was sent about your booking '
    "YDB4EW.</td></tr>\n"
    "</table>\n"
    "</td></tr>\n"
    "</table>\n"
    "</body>\n"
    "</html>\n",
    "attachments": ["e-ticket-9010100000001.pdf"],
}

TEST_MESSAGE: dict[str, Any] = {"email": "ada@example.com", "language": "en"}

TOKEN_BODY: dict[str, Any] = {
    "email": "ada@example.com",
    "password": "correct horse battery staple",
}

UNSUBSCRIBED: dict[str, Any] = {"unsubscribed": True}

USER_ROLES: dict[str, Any] = {"user_id": "da7e5673-74b8-45e5-97e3-58125864f87a", "roles": ["agent"]}

USER_UPDATE: dict[str, Any] = {"data": {"given_name": "Ada", "family_name": "Lovelace"}}

VERIFY_BODY: dict[str, Any] = {"type": "recovery", "email": "ada@example.com", "token": "123456"}

# Bodies no model describes, declared on their routes.
METRICS = '# HELP skybound_http_requests_total HTTP requests by route template and status.\n# TYPE skybound_http_requests_total counter\nskybound_http_requests_total{method="POST",route="/auth/v1/signup",status="200"} 1.0\n'
BOARD_PAGE = (
    "<!doctype html>\n"
    '<html lang="en">\n'
    "<head>\n"
    '  <meta charset="utf-8">\n'
    '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "  <title>Skybound board</title>\n"
    '  <link rel="stylesheet" href="/static/board.css">\n'
    "</head>\n"
    "<body>\n"
    '  <header class="board-header">\n'
    "    <div>\n"
    '      <h1 id="title">Departures</h1>\n'
    '      <p id="airport" class="airport"></p>\n'
    "    </div>\n"
    '    <div class="meta">\n'
    '      <div id="clock" class="clock">--:--</div>\n'
    '      <div id="connection" class="connection" data-state="connecting">Connecting</div>\n'
    "    </div>\n"
    "  </header>\n"
    "    …\n"
)
UNSUBSCRIBE_PAGE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
    "<title>Unsubscribe</title></head><body style='font-family:sans-serif'>"
    "<h1>Sky-Bound Journeys offers</h1>"
    "<form method='post' action='/v1/unsubscribe?token=…'>…</form></body></html>"
)
SSIM_EXPORT = (
    "1AIRLINE STANDARD SCHEDULE DATA SET     "
    "1                                                                                                                                                      "
    "001000001\n"
    "2LSB          03DEC2603DEC2602DEC26SKYBOUND SCHEDULE EXPORT            "
    "C                                                                                                                          "
    "000002\n"
    "3 SB 01010101J03DEC2603DEC26   4    JFK02000200-05004 BOS03150315-0500  "
    "32N                                                                                                                     "
    "00000003\n"
    "5 SB "
    "02DEC26                                                                                                                                                                               "
    "000003E000004\n"
)
SSIM_UPLOAD: dict[str, Any] = {"file": SSIM_EXPORT}
DATA_EXPORT: dict[str, Any] = {
    "exported_at": "2026-12-02T11:28:42.613867+00:00",
    "profile": {
        "user_id": "3113c737-f0d2-4025-be05-4daec72dd71a",
        "email": "ada@example.com",
        "given_name": None,
        "family_name": "Lovelace",
        "phone": "+14155550100",
        "date_of_birth": None,
        "nationality": None,
        "loyalty_numbers": {},
        "created_at": "2026-12-02T11:28:42.169535+00:00",
        "updated_at": "2026-12-02T11:28:42.556455+00:00",
        "version": 2,
        "avatar_key": None,
        "erased_at": None,
    },
    "auth_account": {
        "email": "ada@example.com",
        "email_confirmed_at": "2026-12-02T11:28:42.065280+00:00",
        "signed_up_at": "2026-12-02T11:28:42.065280+00:00",
        "last_sign_in_at": "2026-12-02T11:28:42.065280+00:00",
        "updated_at": "2026-12-02T11:28:42.065280+00:00",
        "has_password": True,
        "user_metadata": {
            "given_name": "Ada",
        },
        "app_metadata": {},
        "banned_until": None,
        "sessions": [
            {
                "id": "46816cc5-68bc-4ef2-afda-e021e98a09a6",
                "method": "password",
                "signed_in_at": "2026-12-02T11:28:42.065280+00:00",
                "refreshed_at": None,
                "not_after": "2027-01-01T11:28:42.065280+00:00",
                "revoked_at": None,
                "revoked_reason": None,
            },
        ],
        "identities": [],
    },
    "preferences": {
        "seat": "window",
        "meal": "vegetarian",
        "language": "en",
        "notification_channels": [
            "email",
        ],
        "marketing_consent": False,
        "marketing_consent_at": "2026-12-02T11:28:42.566619Z",
        "version": 1,
        "updated_at": "2026-12-02T11:28:42.566619Z",
    },
    "payment_methods": [
        {
            "id": "00e1eed9-11fe-4946-a082-d2d1ac517047",
            "brand": "visa",
            "last4": "4242",
            "exp_month": 12,
            "exp_year": 2030,
            "created_at": "2026-12-02T11:28:42.170114Z",
        },
    ],
    "roles": [],
    "bookings": [
        BOOKING,
    ],
    "travelers": [],
    "trip_notes": [
        {
            "id": "3c1f8f8e-2b7a-4c55-9d0e-6a1b2c3d4e5f",
            "booking_id": "992100e1-eafb-4153-ba2a-be7f01ac4858",
            "title": "Boston",
            "body": "Taxi booked for 10:30.",
            "created_at": "2026-12-02T11:28:42.465343+00:00",
            "updated_at": "2026-12-02T11:28:42.465343+00:00",
        },
    ],
    "notifications": [],
    "travel_documents": [],
}
ADMIN_PAGE = (
    "<!doctype html>\n"
    '<html lang="en">\n'
    "<head>\n"
    '  <meta charset="utf-8">\n'
    '  <meta name="viewport" content="width=device-width, initial-scale=1">\n'
    '  <meta name="skybound-auth-url" content="/auth/v1">\n'
    '  <meta name="skybound-anon-key" content="…">\n'
    "  <title>Skybound operations</title>\n"
    '  <link rel="stylesheet" href="/static/vendor/uplot-1.6.32/uPlot.min.css">\n'
    '  <link rel="stylesheet" href="/static/admin.css">\n'
    "</head>\n"
    "<body>\n"
    '  <header class="top">\n'
    "    <h1>Skybound operations</h1>\n"
    '    <p id="connection" class="connection" data-state="idle" role="status">Signed out</p>\n'
    '    <button id="sign-out" type="button" hidden>Sign out</button>\n'
    "  </header>\n"
    "\n"
    "  …\n"
)

"""Who is calling: access tokens, roles and revocations, stream tickets, and the built-in
auth server's accounts."""

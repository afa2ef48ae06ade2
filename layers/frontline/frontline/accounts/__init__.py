"""Accounts (seed 000): users, OAuth sign-in (Discord, GitHub), sessions, API keys with a per-key rate
limit, admin role and audit trail, settings and reviews. See docs/accounts.md."""

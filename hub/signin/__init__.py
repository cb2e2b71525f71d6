"""Staff sign-in: web passwords (Argon2id, lock-out) and sessions (their tables too)."""

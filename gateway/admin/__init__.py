"""The admin's screens: the inbox, the complaint page, accounts (argon2id), sessions (signed
cookie, CSRF, lock-out) and the agency directory."""

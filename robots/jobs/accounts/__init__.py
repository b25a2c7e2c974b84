"""User accounts on Chorus Pro: create, activate, recover; bulk onboarding (`chorus-robot accounts`)."""

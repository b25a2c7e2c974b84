"""The browser: launching Chromium, a portal's context, the pool of `renew`'s workers."""

"""The nightly renewal job: roster, journal, deliveries, reports (`chorus-robot renew`, `status`)."""

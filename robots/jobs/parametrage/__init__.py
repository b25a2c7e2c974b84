"""Structure and account parametrisation as desired state: plan, apply, export (issue 10)."""

"""What the robot talks to besides the portal's pages: mailboxes, second factor, the API."""

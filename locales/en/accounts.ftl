# Sign-in through the county's identity provider, accounts and API tokens.
login-sso = Sign in with your county account
login-password-heading = Sign in with e-mail and password
login-password-off = Sign-in with a password is turned off. Sign in with your county account.
login-sso-unreachable = The county's sign-in service does not answer just now. Please try again in a moment.
login-sso-cancelled = The sign-in was cancelled at the sign-in service. You can try again.
login-sso-failed = The sign-in did not succeed. Please try again; if it keeps failing, contact your administrator.
login-sso-expired = The sign-in expired or was started in another browser. Please start signing in again.
login-sso-inactive = Your Valvo account has been deactivated. Contact your administrator.
login-sso-no-account = Your account has no access to Valvo. Ask your administrator for access.

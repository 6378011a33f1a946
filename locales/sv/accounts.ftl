# Sign-in through the county's identity provider, accounts and API tokens.
login-sso = Logga in med välfärdsområdets konto
login-password-heading = Logga in med e-post och lösenord
login-password-off = Inloggning med lösenord används inte. Logga in med välfärdsområdets konto.
login-sso-unreachable = Välfärdsområdets inloggningstjänst svarar inte just nu. Försök igen om en stund.
login-sso-cancelled = Inloggningen avbröts i inloggningstjänsten. Du kan försöka igen.
login-sso-failed = Inloggningen lyckades inte. Försök igen; kontakta huvudanvändaren om felet upprepas.
login-sso-expired = Inloggningen gick ut eller påbörjades i en annan webbläsare. Börja logga in på nytt.
login-sso-inactive = Ditt konto i Valvo har inaktiverats. Kontakta huvudanvändaren.
login-sso-no-account = Ditt konto har ingen behörighet till Valvo. Be huvudanvändaren om behörighet.

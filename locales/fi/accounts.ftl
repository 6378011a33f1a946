# Sign-in through the county's identity provider, accounts and API tokens.
login-sso = Kirjaudu hyvinvointialueen tunnuksella
login-password-heading = Kirjaudu sähköpostilla ja salasanalla
login-password-off = Salasanalla kirjautuminen ei ole käytössä. Kirjaudu hyvinvointialueen tunnuksella.
login-sso-unreachable = Hyvinvointialueen kirjautumispalvelu ei vastaa juuri nyt. Yritä hetken kuluttua uudelleen.
login-sso-cancelled = Kirjautuminen keskeytyi kirjautumispalvelussa. Voit yrittää uudelleen.
login-sso-failed = Kirjautuminen ei onnistunut. Yritä uudelleen; jos virhe toistuu, ota yhteyttä pääkäyttäjään.
login-sso-expired = Kirjautuminen vanheni tai se aloitettiin toisessa selaimessa. Aloita kirjautuminen uudelleen.
login-sso-inactive = Käyttäjätunnuksesi Valvoon on poistettu käytöstä. Ota yhteyttä pääkäyttäjään.
login-sso-no-account = Tunnuksellasi ei ole käyttöoikeutta Valvoon. Pyydä oikeutta pääkäyttäjältä.

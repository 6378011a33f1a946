// A real OpenID provider for Valvo's tests: the certified `oidc-provider`
// from npm, with its development sign-in pages (any password is accepted;
// the login name picks the account). Configured by environment variables:
//
//   OIDC_PORT       port to listen on (127.0.0.1)
//   OIDC_CLIENT     JSON {client_id, client_secret, redirect_uri}
//   OIDC_ACCOUNTS   JSON {login: {email, email_verified, name, groups}}
//   OIDC_KEY_ID     the key id of the signing key it makes at start (a new
//                   id after a restart stands for a rotated key)
//
// It prints "listening <issuer>" when it answers.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT || 0);
const client = JSON.parse(process.env.OIDC_CLIENT);
const accounts = JSON.parse(process.env.OIDC_ACCOUNTS || '{}');
const kid = process.env.OIDC_KEY_ID || 'key-1';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'RS256' };

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [{
    client_id: client.client_id,
    client_secret: client.client_secret,
    redirect_uris: [client.redirect_uri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: ['valvo-test-cookie-key'] },
  // Every client must send a PKCE challenge (S256 is the only method).
  pkce: { required: () => true },
  // The ID token carries the claims of the scopes asked for (Keycloak and
  // Entra ID put them there too), not only the user-info endpoint.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, ...account };
      },
    };
  },
  // Consent is taken as given: the county's provider asks nothing of its staff.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid email profile groups');
    grant.addOIDCClaims(['email', 'email_verified', 'name', 'groups']);
    await grant.save();
    return grant;
  },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

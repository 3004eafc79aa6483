import express, { type Express } from 'express';
import { fileURLToPath } from 'node:url';
import type { Services } from './services.ts';
import { requestContext, trustedProxyTest } from './http/request-context.ts';
import { securityHeaders } from './http/security-headers.ts';
import { originFormTarget } from './http/origin-form.ts';
import { errorHandler } from './http/error-handler.ts';
import { WarningBudget } from './http/warning-budget.ts';
import { shareWarnings } from './http/request-warnings.ts';
import { refuseDeclaredOversize } from './http/declared-size.ts';
import { healthRoutes } from './http/health-routes.ts';
import { loginRoutes } from './login/routes.ts';
import { accountRoutes } from './account/account-routes.ts';
import { PasswordChangeHandovers } from './account/password-change-handover.ts';
import { logoutRoutes } from './session/logout-routes.ts';
import { samlRoutes } from './saml/routes.ts';
import { maxPostBindingFormBytes } from './saml/xml-input.ts';
import { bootstrapRoutes } from './admin/bootstrap-routes.ts';
import { mountOidc } from './oidc/mount.ts';
import { AppError } from './core/errors.ts';

const ASSETS = fileURLToPath(new URL('../views/assets', import.meta.url));

/** Builds the HTTP application; no listen (tests and main call that). */
export async function createApp(services: Services): Promise<Express> {
  const app = express();
  app.disable('x-powered-by');
  // Express's own last-resort handler puts the stack trace on the page unless its env is production; npm start sets no NODE_ENV.
  app.set('env', 'production');
  app.set('trust proxy', trustedProxyTest(services.config.server.trustedProxies));
  app.use(originFormTarget);
  app.use(requestContext(services.logger));
  const warnings = new WarningBudget({ clock: services.clock });
  app.use(shareWarnings(warnings));
  app.use(securityHeaders(services.config.server.publicUrl));
  app.use('/assets', express.static(ASSETS, { fallthrough: false, index: false }));
  app.use(healthRoutes(services));

  const saml = await samlRoutes(services);
  // oidc-provider parses its own bodies, so it is mounted before our body parser.
  await mountOidc(app, services, warnings, saml.propagateLogout);
  // The listeners that tell applications are registered now; sessions ended with the CLI reach them.
  services.adminLogouts.start(services.logger.child({ component: 'session' }));
  services.directoryHealth?.start();

  const formLimitBytes = maxPostBindingFormBytes(services.config.saml.maxRequestBytes);
  app.use(refuseDeclaredOversize(formLimitBytes));
  app.use(express.urlencoded({ extended: false, limit: formLimitBytes, parameterLimit: 50 }));
  const passwordChanges = new PasswordChangeHandovers(services.store.kv);
  app.use(loginRoutes({ interaction: services.interaction, directory: services.directory, regulator: services.regulator, devices: services.devices, passwordChanges }, saml.propagateLogout));
  app.use(accountRoutes(services, passwordChanges));
  app.use(logoutRoutes(services, saml.propagateLogout));
  app.use(bootstrapRoutes(services));
  app.use(saml.router);

  // The path is in the error handler's line already (cut there): an attacker chooses its length.
  app.use((_req, _res, next) => next(new AppError('NOT_FOUND')));
  app.use(errorHandler(services.config.messages.helpdesk, warnings));
  return app;
}

/** The environment without a secret key of its own: a server or CLI started with it uses its data directory's key. */
export function withoutSecretKey(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { STEPGATE_SECRET_KEY: _key, STEPGATE_SECRET_KEY_FILE: _file, ...rest } = env;
  return rest;
}

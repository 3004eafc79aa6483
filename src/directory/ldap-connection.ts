/**
 * One connection to a directory server and its life: whether it can still carry a request, and
 * closing it, with the StartTLS socket kept so a connection the server closed is seen as closed.
 */
import { connect as connectTls, type TLSSocket } from 'node:tls';
import type { Client } from 'ldapts';
import { isLdapResult } from './ldap-errors.ts';

export interface Connection {
  client: Client;
  url: string;
  /** The channel is encrypted (ldaps:// or StartTLS). */
  secure: boolean;
}

/**
 * The TLS socket of each StartTLS connection. ldapts 9 watches only the socket it opened: once StartTLS
 * has replaced it, a server that closes the connection (slapd's idletimeout, a restart) leaves
 * `isConnected` true, and a request written into the closed socket waits out searchTimeoutMs.
 */
const startTlsSockets = new WeakMap<Client, TLSSocket>();

/** `createSecureConnection` for StartTLS: Node's, keeping the socket for `isOpen`. */
export function keepingStartTlsSocket(client: () => Client): typeof connectTls {
  return ((...args: Parameters<typeof connectTls>) => {
    const socket = connectTls(...args);
    startTlsSockets.set(client(), socket);
    return socket;
  }) as typeof connectTls;
}

const closedByServer = (client: Client): boolean => {
  const socket = startTlsSockets.get(client);
  return socket !== undefined && (socket.destroyed || socket.readableEnded);
};

/** Whether the connection can still carry a request: not closed, by us or by the server. */
export const isOpen = ({ client }: Connection): boolean => client.isConnected && !closedByServer(client);

/** Closes the connection; one the server closed gets no unbind (ldapts would wait out the timeout for its answer). */
export const destroy = (client: Client): Promise<void> => {
  if (!closedByServer(client)) return client.unbind().catch(() => undefined);
  startTlsSockets.get(client)?.destroy();
  return Promise.resolve();
};

/** ldapts connects lazily; any answer to a root DSE read (even a refusal) proves the connection works. */
export const readRootDse = (client: Client): Promise<unknown> =>
  client.search('', { scope: 'base', attributes: ['1.1'] }).catch((e: unknown) => (isLdapResult(e) ? undefined : Promise.reject(e)));

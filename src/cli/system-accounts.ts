/** The names of the machine's users and groups, for messages that name the owner of a file. */
import { readFileSync } from 'node:fs';

/** The account's name from /etc/passwd, when it has one (a uid given by a volume or a container may have none). */
export function userName(uid: number): string | undefined {
  try {
    return readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')).find((fields) => fields[2] === String(uid))?.[0];
  } catch {
    return undefined;
  }
}

/** The group's name from /etc/group, when it has one. */
export function groupName(gid: number): string | undefined {
  try {
    return readFileSync('/etc/group', 'utf8').split('\n').map((line) => line.split(':')).find((fields) => fields[2] === String(gid))?.[0];
  } catch {
    return undefined;
  }
}

export function describeUser(uid: number): string {
  const name = userName(uid);
  return name === undefined ? `user id ${uid}` : `user ${name} (uid ${uid})`;
}

// What another process's open descriptors are (Linux only): its TCP sockets by peer (the upstream, its own
// clients) and state, from /proc/PID/fd and /proc/net/tcp{,6}; everything else counted apart.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** TCP states as /proc/net/tcp numbers them. */
const TCP_STATES = ['', 'ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'FIN_WAIT1', 'FIN_WAIT2', 'TIME_WAIT', 'CLOSE', 'CLOSE_WAIT', 'LAST_ACK', 'LISTEN', 'CLOSING'];

interface TcpSocket {
  localPort: number;
  remotePort: number;
  state: string;
}

function tcpSockets(): Map<string, TcpSocket> {
  const byInode = new Map<string, TcpSocket>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const port = (address: string): number => parseInt(address.slice(address.lastIndexOf(':') + 1), 16);
      byInode.set(fields[9]!, { localPort: port(fields[1]!), remotePort: port(fields[2]!), state: TCP_STATES[parseInt(fields[3]!, 16)] ?? fields[3]! });
    }
  }
  return byInode;
}

/**
 * Counts `pid`'s descriptors: "upstream ESTABLISHED" (TCP sockets whose peer port is `upstreamPort`),
 * "client CLOSE_WAIT" (sockets on its own `listenPort`), "other TCP ...", and the rest by kind.
 */
export function descriptorKinds(pid: number, listenPort: number, upstreamPort: number): Record<string, number> {
  const sockets = tcpSockets();
  const counts: Record<string, number> = {};
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const tcp = inode === undefined ? undefined : sockets.get(inode);
    let kind: string;
    if (tcp !== undefined) {
      const peer = tcp.remotePort === upstreamPort ? 'upstream' : tcp.localPort === listenPort ? 'client' : 'other TCP';
      kind = `${peer} ${tcp.state}`;
    } else if (inode !== undefined) kind = 'socket (not TCP)';
    else if (target.startsWith('anon_inode:')) kind = target;
    else kind = 'file or pipe';
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

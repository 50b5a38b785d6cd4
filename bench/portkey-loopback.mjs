// Preloaded into Portkey's gateway by bench/lib.sh (node --import): its
// server calls listen(port) with no host, which binds every interface; the
// benchmarks stay on loopback, so a listen without a host gets 127.0.0.1.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (args[0] !== null && typeof args[0] === 'object') {
    if (args[0].host === undefined && args[0].path === undefined)
      args[0] = { ...args[0], host: '127.0.0.1' };
  } else if (typeof args[0] === 'number' || /^\d+$/.test(String(args[0]))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  }
  return listen.apply(this, args);
};

// The HTTP helper of the ATT cases (conformance/cases/att/blob.ts): every JSON error body the
// target sends is checked against the error registry, code and status, like a frame's schema.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { http } from '../../../../conformance/cases/att/blob.ts';
import type { World } from '../../../../conformance/transport/world.ts';
import type { SchemaFault } from '../../../../conformance/transport/peer.ts';
import { Transcript } from '../../../../conformance/transport/transcript.ts';

/** A server that answers every request with `status` and `body` as JSON. */
function answering(status: number, body: unknown): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function world(): { world: World; faults: SchemaFault[] } {
  const faults: SchemaFault[] = [];
  const fake = { faults, transcript: new Transcript(), env: { waitMs: 2000 } };
  return { world: fake as unknown as World, faults };
}

async function faultsFor(status: number, body: unknown): Promise<SchemaFault[]> {
  const server = await answering(status, body);
  try {
    const { world: w, faults } = world();
    const { port } = server.address() as AddressInfo;
    const reply = await http(w, 'GET', `http://127.0.0.1:${port}/parley/v1/blobs/x/y`);
    expect(reply.status).to.equal(status);
    return faults;
  } finally {
    server.close();
  }
}

describe('the ATT cases’ HTTP helper', () => {
  it('accepts a registry code carried over HTTP with its own status', async () => {
    expect(await faultsFor(404, { code: 'NOT_FOUND', message: 'no such blob' })).to.deep.equal([]);
  });

  it('records a fault when a registry code comes with another status', async () => {
    const faults = await faultsFor(400, { code: 'DIGEST_MISMATCH', message: 'digest differs' });
    expect(faults.map((f) => f.pointer)).to.deep.equal(['/code']);
    expect(faults[0]!.message).to.include('HTTP 422');
  });

  it('records a fault for a code that is not in the registry or is frame-only', async () => {
    expect(await faultsFor(404, { code: 'NO_SUCH_BLOB', message: 'gone' })).to.have.length(1);
    expect(await faultsFor(400, { code: 'SCHEMA_VIOLATION', message: 'bad' })).to.have.length(1);
  });

  it('records a fault for a body without message or with extra members', async () => {
    const faults = await faultsFor(404, { code: 'NOT_FOUND', blobId: 'b1' });
    expect(faults.map((f) => f.pointer).sort()).to.deep.equal(['', '/message']);
  });
});

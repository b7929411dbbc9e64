// An independent verifier for the portal's credentials, built on Digital Bazaar's reference
// libraries rather than on our Python code.
//
//   node tests/interop/verify.mjs input.json      (or the JSON on standard input)
//
// input.json: {credential, keyDocument, controllerDocument, statusListCredential?, now?}
// prints:     {"verified": bool, "revoked": bool|null, "statusVerified": bool|null,
//              "errors": [..], "refused": [urls the loader refused]}
// and exits 0 whenever it could produce a verdict (whatever the verdict), 2 otherwise.
//
// The document loader serves only the JSON-LD contexts shipped in app/credentials/contexts
// plus the documents given in the input: nothing is fetched from the network.
// The controller document (the issuer profile) is handed to the proof purpose directly, so
// it is not JSON-LD-framed: jsonld-signatures would otherwise need the security v2 context,
// which is not one of ours. It must list the proof's key in `assertionMethod`, and its `id`
// must be the credential's issuer.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {checkStatus as checkBitstringStatus} from '@digitalbazaar/vc-bitstring-status-list';

const here = dirname(fileURLToPath(import.meta.url));
const contextsDir = join(here, '..', '..', 'app', 'credentials', 'contexts');

function shippedContexts() {
  const index = JSON.parse(readFileSync(join(contextsDir, 'index.json'), 'utf8'));
  return new Map(Object.entries(index).map(([url, file]) => [
    url, JSON.parse(readFileSync(join(contextsDir, file), 'utf8'))
  ]));
}

function makeLoader(documents, refused) {
  return async url => {
    if(documents.has(url)) {
      return {
        contextUrl: null,
        documentUrl: url,
        // a copy: the libraries may modify what they are given
        document: structuredClone(documents.get(url))
      };
    }
    refused.push(url);
    throw new Error(`document loader refused ${url}: not shipped and not supplied`);
  };
}

function messages(error) {
  const found = [];
  const walk = e => {
    if(!e || found.length > 20) {
      return;
    }
    if(Array.isArray(e)) {
      e.forEach(walk);
      return;
    }
    if(e.message) {
      found.push(e.message);
    }
    walk(e.cause);
    walk(e.errors);
  };
  walk(error);
  return [...new Set(found)];
}

async function main() {
  const path = process.argv[2];
  const input = JSON.parse(readFileSync(path && path !== '-' ? path : 0, 'utf8'));
  const {credential, keyDocument, controllerDocument, statusListCredential} = input;
  const now = input.now ? new Date(input.now) : new Date();

  const documents = shippedContexts();
  for(const doc of [keyDocument, controllerDocument, statusListCredential]) {
    if(doc && typeof doc.id === 'string') {
      documents.set(doc.id, doc);
    }
  }
  const refused = [];
  const documentLoader = makeLoader(documents, refused);
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});

  // The status list credential's own proof is checked here, with the same explicit
  // controller, before the library reads its bit (its built-in check would frame the
  // controller document and so need a context we do not ship).
  let statusListResult = null;
  const checkStatus = async options => {
    const {document: list} = await documentLoader(
      [].concat(options.credential.credentialStatus)[0].statusListCredential);
    statusListResult = await vc.verifyCredential({
      credential: list, suite, documentLoader, controller: controllerDocument, now
    });
    if(!statusListResult.verified) {
      return {verified: false, error: statusListResult.error};
    }
    return checkBitstringStatus({
      ...options,
      documentLoader,
      suite,
      verifyBitstringStatusListCredential: false,
      verifyMatchingIssuers: true
    });
  };

  const result = await vc.verifyCredential({
    credential,
    suite,
    documentLoader,
    controller: controllerDocument,
    // without a status list the revocation bit is not read (revoked: null in the output)
    checkStatus: statusListCredential ? checkStatus : async () => ({verified: true}),
    now
  });

  const statusResult = result.statusResult ?? null;
  const revoked = statusResult?.verified && statusResult.results ?
    statusResult.results.some(r => r.status === true) : null;
  const errors = [
    ...messages(result.error),
    ...(result.results ?? []).flatMap(r => messages(r.error)),
    ...messages(statusResult?.error),
    ...messages(statusListResult?.error)
  ];
  console.log(JSON.stringify({
    verified: result.verified === true,
    revoked,
    statusVerified: statusResult ? statusResult.verified === true : null,
    errors: [...new Set(errors)],
    refused
  }, null, 2));
}

main().catch(error => {
  console.error(error);
  process.exit(2);
});

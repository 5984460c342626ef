// The GraphQL documents Portal sends to DataHub (src/adapters/datahub/*.graphql)
// validate against DataHub's schema: always against the subset committed in
// tests/fixtures/datahub/schema.graphql, and, when DataHub's own SDL files are
// at hand (DATAHUB_SDL_DIR, or ../shared/specs/datahub/graphql beside the
// repository), against them too, along with a check that the subset says
// nothing DataHub's schema does not. Needs no Portal binary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSchema, parse, validate, getOperationAST, typeFromAST, coerceInputValue, Kind,
  isObjectType, isInterfaceType, isInputObjectType, isEnumType, isScalarType, isUnionType,
  isRequiredArgument, isRequiredInputField,
} from 'graphql';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const docsDir = path.join(root, 'src/adapters/datahub');
const fixturePath = path.join(root, 'tests/fixtures/datahub/schema.graphql');
const upstreamDir = process.env.DATAHUB_SDL_DIR || path.join(root, '../shared/specs/datahub/graphql');
const haveUpstream = fs.existsSync(upstreamDir);
const noUpstream = haveUpstream ? false : `no DataHub SDL at ${upstreamDir} (set DATAHUB_SDL_DIR)`;

// Variables as src/adapters/datahub.c sends them, per operation.
const sampleVariables = {
  portalLineage: [
    { urn: 'urn:li:dataset:(urn:li:dataPlatform:clickhouse,analytics.orders,PROD)', direction: 'UPSTREAM', count: 1 },
    { urn: 'urn:li:dataset:(urn:li:dataPlatform:clickhouse,analytics.orders,PROD)', direction: 'DOWNSTREAM', count: 1000 },
  ],
  portalEntity: [{ urn: 'urn:li:dataJob:(urn:li:dataFlow:(airflow,etl,prod),load_orders)' }],
};

// The documents as the adapter sends them: each file holding an operation,
// followed by every file that holds only fragments.
function documents() {
  const files = fs.readdirSync(docsDir).filter((f) => f.endsWith('.graphql')).sort();
  const parsed = files.map((f) => {
    const text = fs.readFileSync(path.join(docsDir, f), 'utf8');
    return { file: f, text, ast: parse(text) };
  });
  const isOp = (p) => p.ast.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION);
  const fragments = parsed.filter((p) => !isOp(p));
  return parsed.filter(isOp).map((p) => {
    const text = [p.text, ...fragments.map((f) => f.text)].join('\n');
    return { file: p.file, text, ast: parse(text) };
  });
}

function buildUpstream() {
  const files = fs.readdirSync(upstreamDir).filter((f) => f.endsWith('.graphql')).sort();
  assert.ok(files.length > 0, `no .graphql files in ${upstreamDir}`);
  // DataHub spreads Query and Mutation over files with `extend type`, so the
  // files only make a schema together.
  const sdl = files.map((f) => fs.readFileSync(path.join(upstreamDir, f), 'utf8')).join('\n');
  try {
    return buildSchema(sdl);
  } catch (e) {
    // An SDL that GMS loads but graphql-js finds fault with (its Java
    // implementation is more lenient in places): build without the SDL rules.
    return buildSchema(sdl, { assumeValidSDL: true });
  }
}

function checkAgainst(schema, what) {
  const docs = documents();
  assert.ok(docs.length >= 2, 'lineage and entity documents');
  for (const d of docs) {
    const errors = validate(schema, d.ast).map((e) => e.message);
    assert.deepEqual(errors, [], `${d.file} against ${what}`);
    const op = getOperationAST(d.ast);
    assert.ok(op && op.name, `${d.file}: one named operation`);
    const samples = sampleVariables[op.name.value];
    assert.ok(samples, `${d.file}: ${op.name.value} has sample variables here`);
    for (const vars of samples) {
      const problems = [];
      for (const vd of op.variableDefinitions) {
        const type = typeFromAST(schema, vd.type);
        assert.ok(type, `${d.file}: type of $${vd.variable.name.value}`);
        coerceInputValue(vars[vd.variable.name.value], type, (p, v, e) => problems.push(`$${vd.variable.name.value}${p.length ? '.' + p.join('.') : ''}: ${e.message}`));
      }
      assert.deepEqual(problems, [], `${d.file} variables ${JSON.stringify(vars)} against ${what}`);
      assert.deepEqual(Object.keys(vars).sort(), op.variableDefinitions.map((v) => v.variable.name.value).sort(),
        `${d.file}: the adapter sends exactly the declared variables`);
    }
  }
}

test('each document holds one named operation and no literal urn', () => {
  const docs = documents();
  assert.deepEqual(docs.map((d) => getOperationAST(d.ast)?.name?.value).sort(), ['portalEntity', 'portalLineage']);
  for (const d of docs) {
    const ops = d.ast.definitions.filter((x) => x.kind === Kind.OPERATION_DEFINITION);
    assert.equal(ops.length, 1, d.file);
    assert.equal(ops[0].operation, 'query', `${d.file} only reads`);
    assert.doesNotMatch(d.text, /urn:li:/, `${d.file}: urns arrive as variables`);
  }
});

test('the documents validate against the committed schema subset', () => {
  checkAgainst(buildSchema(fs.readFileSync(fixturePath, 'utf8')), 'tests/fixtures/datahub/schema.graphql');
});

test('the documents validate against DataHub\'s full SDL', { skip: noUpstream }, () => {
  checkAgainst(buildUpstream(), upstreamDir);
});

test('the committed subset says nothing DataHub\'s SDL does not', { skip: noUpstream }, () => {
  const sub = buildSchema(fs.readFileSync(fixturePath, 'utf8'));
  const up = buildUpstream();
  const builtIn = new Set(['String', 'Int', 'Float', 'Boolean', 'ID']);
  const kind = (t) => (isObjectType(t) ? 'object' : isInterfaceType(t) ? 'interface' : isInputObjectType(t) ? 'input'
    : isEnumType(t) ? 'enum' : isScalarType(t) ? 'scalar' : isUnionType(t) ? 'union' : '?');
  const problems = [];
  for (const [name, t] of Object.entries(sub.getTypeMap())) {
    if (name.startsWith('__') || builtIn.has(name)) continue;
    const u = up.getType(name);
    if (!u) { problems.push(`${name}: not in DataHub's SDL`); continue; }
    if (kind(t) !== kind(u)) { problems.push(`${name}: ${kind(t)} here, ${kind(u)} in DataHub`); continue; }
    if (isObjectType(t) || isInterfaceType(t)) {
      const uf = u.getFields();
      for (const [fname, f] of Object.entries(t.getFields())) {
        const g = uf[fname];
        if (!g) { problems.push(`${name}.${fname}: not in DataHub's SDL`); continue; }
        if (String(f.type) !== String(g.type)) problems.push(`${name}.${fname}: ${f.type} here, ${g.type} in DataHub`);
        for (const a of f.args) {
          const b = g.args.find((x) => x.name === a.name);
          if (!b) problems.push(`${name}.${fname}(${a.name}): not in DataHub's SDL`);
          else if (String(a.type) !== String(b.type)) problems.push(`${name}.${fname}(${a.name}): ${a.type} here, ${b.type} in DataHub`);
        }
        for (const b of g.args.filter(isRequiredArgument))
          if (!f.args.some((a) => a.name === b.name)) problems.push(`${name}.${fname}(${b.name}): required by DataHub, missing here`);
      }
      const uIfaces = new Set(u.getInterfaces().map((i) => i.name));
      for (const i of t.getInterfaces())
        if (!uIfaces.has(i.name)) problems.push(`${name}: implements ${i.name} here, not in DataHub`);
    } else if (isInputObjectType(t)) {
      const uf = u.getFields();
      for (const [fname, f] of Object.entries(t.getFields())) {
        if (!uf[fname]) problems.push(`${name}.${fname}: not in DataHub's SDL`);
        else if (String(f.type) !== String(uf[fname].type)) problems.push(`${name}.${fname}: ${f.type} here, ${uf[fname].type} in DataHub`);
      }
      for (const g of Object.values(uf).filter(isRequiredInputField))
        if (!t.getFields()[g.name]) problems.push(`${name}.${g.name}: required by DataHub, missing here`);
    } else if (isEnumType(t)) {
      const uv = new Set(u.getValues().map((v) => v.name));
      for (const v of t.getValues())
        if (!uv.has(v.name)) problems.push(`${name}.${v.name}: not in DataHub's SDL`);
    }
  }
  assert.deepEqual(problems, []);
});

test('a document that strays from the schema is caught', () => {
  // The checks above would pass vacuously if validation never failed.
  const schema = buildSchema(fs.readFileSync(fixturePath, 'utf8'));
  const bad = parse('query x($urn: String!) { entity(urn: $urn) { urn ... on Dataset { nope } } }');
  assert.ok(validate(schema, bad).length > 0);
});

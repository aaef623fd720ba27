// Compile the Aave v3 contracts the chain tests deploy, straight from node_modules, with solc-js.
//
// usage: node tests/chain/compile_aave.mjs OUT.json
//
// Sources: @aave-dao/aave-v3-origin (BUSL-1.1) and its deps, plus our own MIT mock feed. The output
// (ABI, bytecode, link references) is written outside git by the caller (tests/chain/artifacts.py):
// Aave's licence forbids committing it here. Settings follow aave-v3-origin's foundry.toml.
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import solc from 'solc'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)
const pkgDir = (name, from = require) => path.dirname(from.resolve(`${name}/package.json`))

const ORIGIN = pkgDir('@aave-dao/aave-v3-origin')
const fromOrigin = createRequire(path.join(ORIGIN, 'package.json'))
const UTILS = pkgDir('@bgd-labs/solidity-utils', fromOrigin)
const fromUtils = createRequire(path.join(UTILS, 'package.json'))
const OZ = pkgDir('@openzeppelin/contracts', fromUtils)
const OZ_UP = pkgDir('@openzeppelin/contracts-upgradeable', fromUtils)

// Import prefixes used by aave-v3-origin (its remappings.txt is not shipped on npm). Longest first.
const PREFIXES = [
  ['openzeppelin-contracts-upgradeable/contracts/', path.join(OZ_UP, '/')],
  ['openzeppelin-contracts/contracts/', path.join(OZ, '/')],
  ['solidity-utils/contracts/', path.join(UTILS, 'src/contracts/')],
  ['tracker-tests/', path.join(HERE, 'contracts/')],
  ['src/', path.join(ORIGIN, 'src/')],
]

function resolveUnit(unit) {
  for (const [prefix, dir] of PREFIXES) {
    if (unit.startsWith(prefix)) return path.join(dir, unit.slice(prefix.length))
  }
  return null
}

// Source unit -> contracts we need bytecode for. Logic libraries are linked, so all are selected.
const TARGETS = {
  'src/contracts/protocol/configuration/PoolAddressesProvider.sol': ['PoolAddressesProvider'],
  'src/contracts/protocol/configuration/ACLManager.sol': ['ACLManager'],
  'src/contracts/instances/PoolInstance.sol': ['PoolInstance'],
  'src/contracts/instances/PoolConfiguratorInstance.sol': ['PoolConfiguratorInstance'],
  'src/contracts/instances/ATokenInstance.sol': ['ATokenInstance'],
  'src/contracts/instances/VariableDebtTokenInstance.sol': ['VariableDebtTokenInstance'],
  'src/contracts/misc/AaveOracle.sol': ['AaveOracle'],
  'src/contracts/misc/DefaultReserveInterestRateStrategyV2.sol': ['DefaultReserveInterestRateStrategyV2'],
  'src/contracts/helpers/AaveProtocolDataProvider.sol': ['AaveProtocolDataProvider'],
  'src/contracts/mocks/tokens/MintableERC20.sol': ['MintableERC20'],
  'tracker-tests/MockAggregatorV3.sol': ['MockAggregatorV3'],
}
const LOGIC_DIR = 'src/contracts/protocol/libraries/logic/'
for (const file of fs.readdirSync(resolveUnit(LOGIC_DIR)).sort()) {
  if (file.endsWith('.sol')) TARGETS[LOGIC_DIR + file] = ['*']
}

const OUTPUTS = ['abi', 'evm.bytecode.object', 'evm.bytecode.linkReferences']
const input = {
  language: 'Solidity',
  sources: Object.fromEntries(
    Object.keys(TARGETS).map(unit => [unit, { content: fs.readFileSync(resolveUnit(unit), 'utf8') }]),
  ),
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'shanghai',
    metadata: { bytecodeHash: 'none' },
    outputSelection: Object.fromEntries(
      Object.entries(TARGETS).map(([unit, names]) => [
        unit,
        Object.fromEntries(names.map(name => [name, OUTPUTS])),
      ]),
    ),
  },
}

function findImports(unit) {
  const file = resolveUnit(unit)
  if (file === null || !fs.existsSync(file)) return { error: `not found: ${unit}` }
  return { contents: fs.readFileSync(file, 'utf8') }
}

const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }))
const errors = (out.errors ?? []).filter(e => e.severity === 'error')
if (errors.length > 0) {
  for (const e of errors) console.error(e.formattedMessage)
  process.exit(1)
}

// Flatten to {ContractName: {abi, bytecode, linkReferences}}; names are unique in this selection.
const contracts = {}
for (const [unit, names] of Object.entries(out.contracts)) {
  for (const [name, c] of Object.entries(names)) {
    if (name in contracts) throw new Error(`duplicate contract name ${name} in ${unit}`)
    contracts[name] = {
      source: unit,
      abi: c.abi,
      bytecode: c.evm.bytecode.object,
      linkReferences: c.evm.bytecode.linkReferences,
    }
  }
}
const result = { compiler: solc.version(), settings: input.settings, contracts }
fs.writeFileSync(process.argv[2], JSON.stringify(result))

// Runs IAM simulations with @cloud-copilot/iam-simulate: a JSON array of simulations on stdin,
// a JSON array of {overallResult, errors} on stdout, in the same order.
import { runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const simulations = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const results = []
for (const simulation of simulations) {
  const response = await runSimulation(simulation, {})
  results.push(
    response.resultType === 'error'
      ? { overallResult: 'Error', errors: response.errors }
      : { overallResult: response.overallResult }
  )
}
process.stdout.write(JSON.stringify(results))

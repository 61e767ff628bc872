import { createRequire as __mytCreateRequire } from 'node:module'; import { fileURLToPath as __mytFileURLToPath } from 'node:url'; import { dirname as __mytDirname } from 'node:path'; const require = __mytCreateRequire(import.meta.url); const __filename = __mytFileURLToPath(import.meta.url); const __dirname = __mytDirname(__filename);
import{changesOfEvent,escapeMarkdown}from"./chunk-WPWHBRUO.js";import{actionsReporter,core_exports,deployMatrix,leftRunning,maskingReporter,readGitHubContext,readPlatformsInput,readSettings,reportFailure,toDestroy}from"./chunk-A72DJOIS.js";import"./chunk-N6JHFHR2.js";import"./chunk-R6ADKB6Z.js";import"./chunk-2OUF7SNQ.js";import"./chunk-KC56AVUH.js";import"./chunk-3VHSRMOK.js";import{maskSecrets}from"./chunk-DUQT6KUR.js";import"./chunk-GQH5OTXE.js";import"./chunk-XVFCMUZP.js";import{MytError}from"./chunk-JHR5NI56.js";import"./chunk-EESU7JOK.js";async function run(deps={}){let reporter=maskingReporter(deps.reporter??actionsReporter),env=deps.env??process.env,inputs=deps.inputs??core_exports;try{let settings=readSettings(env,inputs),context=readGitHubContext(env),requested=readPlatformsInput(inputs),action=inputs.getInput("action")||"deploy";if(action!=="deploy"&&action!=="redeploy")throw new MytError(`input 'action' must be deploy or redeploy (got '${action}')`);let limitText=inputs.getInput("max-jobs")||String(256),limit=Number(limitText);if(!Number.isInteger(limit)||limit<1||limit>256)throw new MytError(`input 'max-jobs' must be a whole number from 1 to ${256} (got '${limitText}')`);let notes=[],changes=await changesOfEvent(settings.workspace,context,requested,action,note=>notes.push(note));for(let note of notes)reporter.warning(note,{title:"MyT: what changed"});let matrix=deployMatrix(changes,limit),destroy=toDestroy(changes.deleted),running=leftRunning(changes.deleted);for(let line of running)reporter.warning(maskSecrets(line),{title:"MyT: left running"});reporter.setOutput("matrix",JSON.stringify(matrix)),reporter.setOutput("any",String(matrix.include.length>0)),reporter.setOutput("destroy",JSON.stringify({include:destroy.map(d=>({platform:d.name,file:d.file}))})),reporter.setOutput("any-destroy",String(destroy.length>0)),reporter.setOutput("base",changes.base??""),reporter.setOutput("head",changes.head);let s=reporter.summary.addHeading("MyT: what changed",2);for(let note of notes)s.addRaw(`> [!WARNING]
> ${escapeMarkdown(note)}

`);s.addRaw(`Compared ${changes.base?changes.base.slice(0,12):"(no earlier commit)"} with ${changes.head.slice(0,12)}.

`),changes.changed.length?(s.addRaw(`${changes.changed.length} platform(s) to deploy in ${matrix.include.length} job(s):

`),s.addRaw(`${changes.changed.map(c=>`- **${c.name}** (${c.action}): ${c.reasons.map(escapeMarkdown).join("; ")}`).join(`
`)}

`)):s.addRaw(`No platform to deploy.

`);for(let d of destroy)s.addRaw(`- \u26A0\uFE0F **${d.name}** was deleted and sets \`spec.destroy: allow\`: it is destroyed in this run.
`);for(let line of running)s.addRaw(`- \u26A0\uFE0F ${escapeMarkdown(line)}
`);for(let m of changes.moved)s.addRaw(`- ${m.name}: moved from ${escapeMarkdown(m.from)} to ${escapeMarkdown(m.to)}, nothing to do
`);await s.write(),reporter.info(`to deploy: ${changes.changed.map(c=>c.name).join(" ")||"none"}; to destroy: ${destroy.map(d=>d.name).join(" ")||"none"}`)}catch(err){reportFailure(reporter,err)}}export{run};

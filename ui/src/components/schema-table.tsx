import { schemaRows, type Resolver, type Schema } from '../schema.js'

interface Props {
  schema?: Schema
  resolve: Resolver
  testid: string
  caption?: string
}

/** Name / type / required / description table of a payload schema, nested objects indented with dotted names. */
export function SchemaTable ({ schema, resolve, testid, caption }: Props) {
  const rows = schemaRows(schema, resolve)
  if (rows.length === 0) {
    return <p class='muted' data-testid={testid}>No schema: any JSON value.</p>
  }
  return (
    <div class='table-scroll'>
      <table class='schema' data-testid={testid}>
        {caption !== undefined && <caption>{caption}</caption>}
        <thead>
          <tr><th scope='col'>Name</th><th scope='col'>Type</th><th scope='col'>Required</th><th scope='col'>Description</th></tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.path} data-path={row.path}>
              <td class='name' style={{ paddingLeft: `${0.6 + row.depth * 1.1}rem` }}>
                <code>{row.path}</code>
              </td>
              <td class='type'><code>{row.type}</code></td>
              <td class={row.required ? 'req yes' : 'req'}>{row.required ? 'required' : 'optional'}</td>
              <td class='desc'>{row.description}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

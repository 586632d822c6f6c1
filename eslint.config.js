import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'ui/dist/**', 'node_modules/**', '.tap/**', 'coverage/**', 'test/.tmp-*/**'] }),
  {
    rules: {
      // `void promise` marks a deliberate fire-and-forget (errors are handled inside).
      'no-void': ['error', { allowAsStatement: true }],
      // TypeBox idiom: a schema constant and its Static type share one name.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]

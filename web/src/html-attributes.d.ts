// strictTemplates rejects attributes it does not know; data-* attributes are
// valid on every HTML element, so tell the template checker so.
import 'vue'

declare module 'vue' {
  interface HTMLAttributes {
    [dataAttribute: `data-${string}`]: string | number | boolean | undefined
  }
}

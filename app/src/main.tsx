// Entry: read the server's configuration, then render the app (or say why it cannot start).
import { type ComponentChild, render } from "preact";
import { App } from "./App.tsx";
import { loadConfig } from "./config.ts";
import "./styles.css";

const root = document.getElementById("app") as HTMLElement;

// Preact appends to the container: drop the "Loading" placeholder first.
const show = (node: ComponentChild) => {
  root.textContent = "";
  render(node, root);
};

loadConfig().then(
  (config) => show(<App config={config} />),
  (err: unknown) =>
    show(
      <div class="notice notice-error" role="alert" data-testid="config-error">
        <strong>The app's server did not answer.</strong>
        <p>{err instanceof Error ? err.message : String(err)}</p>
        <p>
          Start it with <code>npx shardholder app --rpc URL --deployments FILE</code>.
        </p>
      </div>,
    ),
);

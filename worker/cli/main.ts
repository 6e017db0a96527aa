import { run } from "./program.ts";

// Exit explicitly: an idle HTTP keep-alive socket or libp2p timer must not hold the CLI open.
process.exit(await run(process.argv));

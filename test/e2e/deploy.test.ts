import hre from "hardhat";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { deployProtocol, writeAddressBook } from "../../scripts/lib/deploy.ts";

describe("Ignition deployment", () => {
  test("deploys every contract, binds the ledger and writes the address book", async () => {
    const connection = await hre.network.create();
    const book = await deployProtocol(connection);
    const publicClient = await connection.viem.getPublicClient();
    for (const address of Object.values(book.contracts)) {
      expect(await publicClient.getCode({ address })).not.toBe("0x");
    }
    const registry = await connection.viem.getContractAt("ModelRegistry", book.contracts.modelRegistry);
    expect((await registry.read.ledger()).toLowerCase()).toBe(book.contracts.computeLedger.toLowerCase());

    const dir = path.join(tmpdir(), `shardholder-book-${process.pid}`);
    const file = await writeAddressBook(book, dir);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual(book);
    await rm(dir, { recursive: true, force: true });
  });
});

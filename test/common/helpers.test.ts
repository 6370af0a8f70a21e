import { expect } from "chai";
import { sha256Hex } from "../../node/sha256";
import { sleep } from "../../node/sleep";

describe("shared helpers", () => {
  it("sha256Hex writes 0x and 64 lower-case hex digits, hashing strings as UTF-8 (FIPS 180-2 vectors)", () => {
    expect(sha256Hex("abc")).to.equal("0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256Hex(new TextEncoder().encode("abc"))).to.equal(sha256Hex("abc"));
    expect(sha256Hex(new Uint8Array(0))).to.equal(
      "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    expect(sha256Hex("å")).to.equal(sha256Hex(new Uint8Array([0xc3, 0xa5])));
  });

  it("sleep waits, and returns at once when its signal aborts", async () => {
    let t = Date.now();
    await sleep(30);
    expect(Date.now() - t).to.be.at.least(25);
    const controller = new AbortController();
    t = Date.now();
    setTimeout(() => controller.abort(), 10);
    await sleep(10_000, controller.signal);
    expect(Date.now() - t).to.be.below(1_000);
    await sleep(10_000, controller.signal); // already aborted
    expect(Date.now() - t).to.be.below(1_000);
  });
});

import { describe, expect, it } from "vitest";
import { Slots } from "./slots.js";

describe("Slots", () => {
  it("slots - never more than n at once, and every waiter gets its turn in order", async () => {
    const slots = new Slots(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const give = await slots.take();
        running++;
        most = Math.max(most, running);
        order.push(i);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        give();
        give(); // twice is once
      }),
    );
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // All slots are back: two more run at once.
    const a = await slots.take();
    const b = await slots.take();
    a();
    b();
  });

  it("slots - a turn asked for first goes before every other waiting one, and in order among its kind", async () => {
    const slots = new Slots(1);
    const hold = await slots.take();
    const order: string[] = [];
    const run = async (name: string, first: boolean) => {
      const give = await slots.take(first);
      order.push(name);
      give();
    };
    const all = [run("behind 1", false), run("behind 2", false), run("new 1", true), run("behind 3", false), run("new 2", true)];
    hold();
    await Promise.all(all);
    expect(order).toEqual(["new 1", "new 2", "behind 1", "behind 2", "behind 3"]);
  });
});

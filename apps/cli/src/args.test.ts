// Option validators and help text: every bad value becomes a UsageError naming the option.
import { describe, expect, it } from "vitest";
import { choice, helpText, int, intList, num, parse, required } from "./args";
import { UsageError } from "./errors";

describe("args", () => {
  it("parses typed values and applies defaults", () => {
    const { values, positionals } = parse(
      "t",
      ["--n", "3", "--x", "0.5", "p"],
      {
        n: { type: "string", help: "" },
        x: { type: "string", help: "" },
      },
      1,
    );
    expect(positionals).toEqual(["p"]);
    expect(int("t", values, "n", 1)).toBe(3);
    expect(num("t", values, "x", 0, 1)).toBe(0.5);
    expect(
      int(
        "t",
        parse("t", [], { missing: { type: "string", help: "", default: "7" } }).values,
        "missing",
      ),
    ).toBe(7);
    expect(choice("t", { m: "b" }, "m", ["a", "b"] as const)).toBe("b");
    expect(intList("t", { ids: "1, 2,3" }, "ids")).toEqual([1, 2, 3]);
  });

  it("turns bad values into UsageErrors that name the option", () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => int("t", { n: "1.5" }, "n"), /--n expects an integer >= 0, got "1.5"/],
      [() => int("t", { n: "9" }, "n", 1, 4), /--n expects an integer in \[1, 4\]/],
      [() => num("t", { x: "NaN" }, "x"), /--x expects a number/],
      [() => num("t", { x: "" }, "x"), /--x expects a number/],
      [() => choice("t", { m: "c" }, "m", ["a", "b"] as const), /--m expects one of a\|b, got "c"/],
      [() => intList("t", { ids: "1,-2" }, "ids"), /comma-separated integers/],
      [
        () => required("t", {}, "model", "the model folder"),
        /--model is required \(the model folder\)/,
      ],
      [() => parse("t", ["--nope"], {}), /Unknown option '--nope'/],
      [() => parse("t", ["a"], {}), /unexpected argument "a"/],
    ];
    for (const [f, msg] of bad) {
      expect(f).toThrow(UsageError);
      expect(f).toThrow(msg);
    }
  });

  it("lists options with their defaults in --help", () => {
    const h = helpText("anllm x", "About.", {
      steps: { type: "string", arg: "N", help: "steps", default: "5" },
    });
    expect(h).toMatch(/Usage: anllm x/);
    expect(h).toMatch(/--steps N\s+steps \(default: 5\)/);
    expect(h).toMatch(/--json/);
  });
});

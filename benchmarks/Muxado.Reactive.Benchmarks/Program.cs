using BenchmarkDotNet.Running;
using Muxado.Reactive.Benchmarks.Compare;

// `compare ...` is the end-to-end comparison (raw TCP, muxado, Nerdbank.Streams); `sessions N` measures idle sessions;
// anything else goes to
// BenchmarkDotNet's switcher, which runs the micro-benchmarks (e.g. `--filter *Codec* --job short`).
if (args.Length > 0 && args[0] == "compare")
{
    return await CompareCommand.RunAsync(args[1..]).ConfigureAwait(false);
}
if (args.Length > 0 && args[0] == "session-clients")
{
    return await Muxado.Reactive.Benchmarks.Compare.Adapters.SessionEnds.RunClientsAsync(args[1..]).ConfigureAwait(false);
}
if (args.Length > 0 && args[0] == "sessions")
{
    return await Muxado.Reactive.Benchmarks.IdleSessionsCommand.RunAsync(args[1..]).ConfigureAwait(false);
}
BenchmarkSwitcher.FromAssembly(typeof(CompareCommand).Assembly).Run(args);
return 0;

namespace Muxado.Reactive.Testing;

/// <summary>Which marble elements a string may contain; decided by what the string describes.</summary>
internal enum MarbleMode
{
    /// <summary>A hot observable or an expected output: events, groups, and one optional <c>^</c> marking time zero.</summary>
    Hot,

    /// <summary>A cold observable: events and groups; no <c>^</c>, time zero is the subscription.</summary>
    Cold,

    /// <summary>A subscription: <c>-</c>, groups, one <c>^</c> (subscribe) and one optional <c>!</c> (unsubscribe).</summary>
    Subscription,
}

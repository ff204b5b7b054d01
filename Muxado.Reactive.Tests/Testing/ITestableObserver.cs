using System.Reactive;

namespace Muxado.Reactive.Tests.Testing;

/// <summary>An observer that records every notification it receives with the virtual time it arrived.</summary>
public interface ITestableObserver<T> : IObserver<T>
{
    /// <summary>The notifications received so far, in arrival order.</summary>
    IList<Recorded<Notification<T>>> Messages { get; }
}

namespace Muxado.Reactive;

/// <summary>Small helpers for ending observers.</summary>
internal static class ObserverExtensions
{
    /// <summary>Ends <paramref name="observer"/>: <c>OnCompleted</c> when <paramref name="error"/> is null, else <c>OnError</c>.</summary>
    public static void End<T>(this IObserver<T> observer, Exception? error)
    {
        if (error is null)
        {
            observer.OnCompleted();
        }
        else
        {
            observer.OnError(error);
        }
    }
}

//! Work split over the processor's cores, for the loops of a build that are worth it:
//! thousands of independent items of similar cost (incident files read and parsed, incident
//! views, incident, component and history pages, component feeds, component views, the parse
//! cache's shards).
//!
//! Scoped standard threads rather than a pool crate: the order of the results must be the order
//! of the items (so the output is the same whatever the thread count), the items borrow from
//! the caller's stack, and a batch of 256 items costs about a hundred times more than starting its
//! helper threads (about 40 batches for a cold build of 10,000 incidents). Items are taken one at
//! a time from a shared counter rather than split in equal halves: with halves, the thread that
//! finished first waited for the other at the end of every batch (a cold build of 10,000
//! incidents took 8% longer).

/// The number of threads worth using: the cores this process may run on (1 if unknown).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// `items` mapped by `f` on up to `threads` threads (the calling one among them), in order.
/// Each thread takes the next item not yet taken, so a thread that was slowed (by the other
/// work of a 2-core runner, or items that cost more) leaves more to the others instead of
/// being waited for. A panic in `f` is resumed on the calling thread; when no thread can be
/// started (a process limit), the calling thread maps everything.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut done: Vec<(usize, R)> = Vec::new();
        loop {
            let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(item) = items.get(at) else {
                return done;
            };
            done.push((at, f(item)));
        }
    };
    let work = &work;
    let parts: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.min(items.len()))
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut parts = vec![work()];
        for helper in helpers {
            parts.push(
                helper
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
            );
        }
        parts
    });
    // Every index below the length was taken by exactly one thread, and every thread was
    // joined (or its panic resumed above): sorted by index, these are the results in order.
    let mut done: Vec<(usize, R)> = parts.into_iter().flatten().collect();
    done.sort_unstable_by_key(|(at, _)| *at);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order_of_the_items_whatever_the_threads() {
        let items: Vec<u32> = (0..1001).collect();
        for threads in [1, 2, 3, 8] {
            let doubled = super::map(&items, threads, |n| n * 2);
            assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        }
    }
}
